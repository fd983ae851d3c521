using System.CommandLine;
using System.Net.Sockets;
using Cloister.Client;
using Cloister.Client.Sealed;

namespace Cloister.Cli;

/// <summary>Runs a command body and turns failures into one line on stderr and a non-zero exit code.</summary>
internal static class CliRunner
{
    public static void SetHandler(this Command command, Func<ParseResult, CancellationToken, Task<int>> body)
        => command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                return await body(parse, cancellationToken);
            }
            catch (CloisterApiException e)
            {
                return Fail(e.Message);
            }
            catch (AttestationRefusedException e)
            {
                return Fail(e.Message);
            }
            catch (Exception e) when (e is SealedInvocationException or SealedResponseException)
            {
                return Fail(e.Message);
            }
            catch (CliException e)
            {
                return Fail(e.Message, e.ExitCode);
            }
            catch (HttpRequestException e) when (e.InnerException is SocketException || e.HttpRequestError == HttpRequestError.ConnectionError)
            {
                var url = CliSettings.From(parse).Url;
                return Fail($"cannot reach the server at {url} (is 'cloister serve' running?)");
            }
            catch (HttpRequestException e)
            {
                return Fail($"request failed: {e.HttpRequestError}");
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return Fail("the request timed out");
            }
        });

    public static int Fail(string message, int exitCode = 1) => HostCommand.Fail(message, exitCode);
}
