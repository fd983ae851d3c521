using Cloister.Hosting.Listeners;
using Microsoft.Extensions.Logging;

namespace Cloister.Server.Hosting;

/// <summary>Source-generated log messages with stable event ids. None takes a value or key.</summary>
internal static partial class LogMessages
{
    [LoggerMessage(100, LogLevel.Warning, ListenPlan.InsecureHttpWarning)]
    public static partial void InsecureHttp(ILogger logger);
}
