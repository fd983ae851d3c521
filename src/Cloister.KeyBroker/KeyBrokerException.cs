namespace Cloister.KeyBroker;

/// <summary>
/// The key broker cannot work: its master key is missing, unreadable or unsafe. Thrown at start-up so
/// that a bad security setting stops the process with a clear message; request failures are values.
/// </summary>
public sealed class KeyBrokerException : Exception
{
    public KeyBrokerException()
    {
    }

    public KeyBrokerException(string message)
        : base(message)
    {
    }

    public KeyBrokerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
