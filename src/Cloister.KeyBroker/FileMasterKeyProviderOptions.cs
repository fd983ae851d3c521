namespace Cloister.KeyBroker;

/// <summary>Options of <see cref="FileMasterKeyProvider"/>.</summary>
public sealed record FileMasterKeyProviderOptions
{
    /// <summary>The data directory; the master key lives in <c>master.key</c> inside it. Required.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>The key file's name inside <see cref="DataDirectory"/>. Default <c>master.key</c>.</summary>
    public string FileName { get; init; } = "master.key";

    /// <summary>The full path of the key file.</summary>
    public string KeyPath => Path.Combine(DataDirectory, FileName);
}
