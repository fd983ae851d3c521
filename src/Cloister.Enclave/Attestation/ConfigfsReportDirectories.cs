namespace Cloister.Enclave.Attestation;

/// <summary>
/// Creating and removing configfs-tsm report directories: the two operations whose configfs semantics a plain
/// file system cannot reproduce (mkdir populates the attributes, rmdir removes a directory that still lists them).
/// Everything else — writing inblob, reading outblob — is ordinary file I/O.
/// </summary>
internal interface IReportDirectories
{
    /// <summary>mkdir: afterwards the report's attributes exist.</summary>
    void Create(string path);

    /// <summary>rmdir: releases the report.</summary>
    void Remove(string path);
}

/// <summary>The kernel's configfs.</summary>
internal sealed class ConfigfsReportDirectories : IReportDirectories
{
    public static ConfigfsReportDirectories Instance { get; } = new();

    public void Create(string path)
    {
        Directory.CreateDirectory(path);
    }

    public void Remove(string path)
    {
        // Not recursive: configfs refuses to unlink attributes, and rmdir of the item is how a report is released.
        Directory.Delete(path, recursive: false);
    }
}
