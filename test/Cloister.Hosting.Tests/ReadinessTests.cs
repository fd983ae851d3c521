using Cloister.Hosting.Children;

namespace Cloister.Hosting.Tests;

/// <summary>The parent/child handshake: what a child writes is what its supervisor reads, and nothing else is taken for it.</summary>
public sealed class ReadinessTests
{
    [Fact]
    public void Format_ThenTryParse_GivesTheSameReport()
    {
        var report = new ReadinessReport { Process = "worker", Measurement = new string('a', 64), Listening = "http://127.0.0.1:41234" };

        Assert.Equal(report, Readiness.TryParse(Readiness.Format(report)));
    }

    [Fact]
    public void Format_OmitsWhatTheChildDoesNotHave()
    {
        Assert.Equal("cloister-readiness {\"process\":\"keybroker\",\"listening\":\"http://127.0.0.1:1\"}", Readiness.Format(new ReadinessReport { Process = "keybroker", Listening = "http://127.0.0.1:1" }));
    }

    [Theory]
    [InlineData("cloister worker: ready")]
    [InlineData("cloister worker: measurement 00ff")]
    [InlineData("cloister-readiness")]
    [InlineData("cloister-readiness {")]
    [InlineData("cloister-readiness {\"listening\":\"http://127.0.0.1:1\"}")]
    [InlineData("cloister-readiness [1]")]
    [InlineData(" cloister-readiness {\"process\":\"worker\"}")]
    [InlineData("cloister-readiness {\"process\":\"worker\"} trailing")]
    public void TryParse_RefusesAnythingButAWholeReport(string line)
    {
        Assert.Null(Readiness.TryParse(line));
    }
}
