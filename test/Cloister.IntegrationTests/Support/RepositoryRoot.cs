namespace Cloister.IntegrationTests.Support;

/// <summary>The checkout the tests run from: the first folder above the test assembly that holds Cloister.slnx.</summary>
public static class RepositoryRoot
{
    public static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Cloister.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("No Cloister.slnx above the test assembly.");
    }
}
