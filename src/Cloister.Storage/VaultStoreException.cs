namespace Cloister.Storage;

/// <summary>
/// The store cannot do what was asked: its files are unusable, the database failed, or (see
/// <see cref="VaultStoreConflictException"/>) an id is already taken. The base type of every exception
/// this library throws on purpose.
/// </summary>
public class VaultStoreException : Exception
{
    public VaultStoreException()
    {
    }

    public VaultStoreException(string message)
        : base(message)
    {
    }

    public VaultStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A create was refused because a row with that id already exists (a tenant or an API key).</summary>
public sealed class VaultStoreConflictException : VaultStoreException
{
    public VaultStoreConflictException()
    {
    }

    public VaultStoreConflictException(string message)
        : base(message)
    {
    }

    public VaultStoreConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
