using System.Text;

namespace Cloister.Sandbox.Runner;

/// <summary>
/// The Python and Node runners that host a handler inside the sandbox. They are part of this
/// assembly (and so of the worker's measurement); <see cref="Extract"/> writes them to a
/// directory that a sandbox binds read-only (at <c>/runner</c>).
/// </summary>
/// <remarks>
/// Start a runner as <c>python3 /runner/runner.py /fn/&lt;entrypoint&gt;</c> or
/// <c>node /runner/runner.js /fn/&lt;entrypoint&gt;</c> (or give the entrypoint in
/// <c>CLOISTER_ENTRYPOINT</c>). Environment: <c>CLOISTER_SCRATCH_DIR</c> (the scratch directory
/// wiped between invocations, default <c>/tmp</c>) and <c>CLOISTER_MAX_FRAME_BYTES</c>
/// (default 1 MiB; give it the session's <see cref="RunnerSessionOptions.MaxFrameBytes"/>); the sandbox backends add
/// <see cref="OwnPidNamespaceVariable"/>.
/// </remarks>
public static class Runners
{
    /// <summary>The file name of the Python runner.</summary>
    public const string PythonFileName = "runner.py";

    /// <summary>The file name of the Node runner.</summary>
    public const string NodeFileName = "runner.js";

    /// <summary>The environment variable naming the scratch directory wiped between invocations.</summary>
    public const string ScratchDirVariable = "CLOISTER_SCRATCH_DIR";

    /// <summary>The environment variable giving the maximum frame size in bytes.</summary>
    public const string MaxFrameBytesVariable = "CLOISTER_MAX_FRAME_BYTES";

    /// <summary>The environment variable naming the handler's file when it is not the first argument.</summary>
    public const string EntrypointVariable = "CLOISTER_ENTRYPOINT";

    /// <summary>
    /// Set to <c>1</c> by a backend that gives the sandbox a pid namespace and a uid of its own: every other process the runner
    /// can signal is then one its handler started, and the runner kills them all after each invocation. Never set it for a
    /// runner that shares the host's processes (there, <c>kill(-1)</c> would reach every process of the user).
    /// </summary>
    public const string OwnPidNamespaceVariable = "CLOISTER_OWN_PID_NAMESPACE";

    /// <summary>
    /// Writes <c>runner.py</c> and <c>runner.js</c> into <paramref name="directory"/> (created if
    /// missing), replacing older copies atomically, with mode 0644.
    /// </summary>
    public static void Extract(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        Write(Path.Combine(directory, PythonFileName), RunnerScripts.Python);
        Write(Path.Combine(directory, NodeFileName), RunnerScripts.Node);
    }

    private static void Write(string path, string content)
    {
        string temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                byte[] bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(content);
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }
}
