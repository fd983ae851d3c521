namespace Cloister.Crypto.Tests;

public sealed class OwnerOnlyFileTests : IDisposable
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode WorldReadable = OwnerReadWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private readonly string _directory = Directory.CreateTempSubdirectory("cloister-owner-only-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Write_ReplacesA0644File_WithAn0600One_AndLeavesNoTemporaryFile()
    {
        var path = Path.Combine(_directory, "policy.json");
        File.WriteAllText(path, "old");
        File.SetUnixFileMode(path, WorldReadable);

        OwnerOnlyFile.Write(path, "new"u8);

        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(path));
        Assert.Equal([path], Directory.GetFiles(_directory));
    }

    [Fact]
    public void Write_DoesNotWriteThroughAPlantedTemporarySymlink()
    {
        var path = Path.Combine(_directory, "credentials.json");
        var target = Path.Combine(_directory, "elsewhere");
        File.WriteAllText(target, "untouched");
        File.CreateSymbolicLink(path + ".tmp", target);

        OwnerOnlyFile.Write(path, "secret"u8);

        Assert.Equal("untouched", File.ReadAllText(target));
        Assert.Equal("secret", File.ReadAllText(path));
    }

    [Fact]
    public void Restrict_NarrowsAFileOthersCanReach_AndLeavesContentAndAbsentFilesAlone()
    {
        var path = Path.Combine(_directory, "key.pub.pem");
        File.WriteAllText(path, "public");
        File.SetUnixFileMode(path, WorldReadable | UnixFileMode.GroupWrite);

        OwnerOnlyFile.Restrict(path);
        OwnerOnlyFile.Restrict(Path.Combine(_directory, "absent"));

        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(path));
        Assert.Equal("public", File.ReadAllText(path));
        Assert.False(File.Exists(Path.Combine(_directory, "absent")));
    }
}
