using Xunit.Abstractions;
using Xunit.Sdk;

namespace Cloister.IntegrationTests.Support;

/// <summary>Thrown by a <see cref="SkippableFactAttribute"/> test to report itself skipped, with a reason, at run time.</summary>
public sealed class SkipException(string reason) : Exception(reason);

/// <summary>
/// A fact that may skip itself at run time by throwing <see cref="SkipException"/> (xunit 2 has no dynamic skip of its
/// own). Use it only where the environment, not the code under test, decides: the reason is shown in the test report.
/// </summary>
[XunitTestCaseDiscoverer("Cloister.IntegrationTests.Support.SkippableFactDiscoverer", "Cloister.IntegrationTests")]
[AttributeUsage(AttributeTargets.Method)]
public class SkippableFactAttribute : FactAttribute;

/// <summary>Creates <see cref="SkippableTestCase"/>s.</summary>
public sealed class SkippableFactDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        yield return new SkippableTestCase(diagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod);
    }
}

/// <summary>Runs like a normal test case, but reports a failure caused by <see cref="SkipException"/> as a skip.</summary>
public sealed class SkippableTestCase : XunitTestCase
{
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public SkippableTestCase()
    {
    }

    public SkippableTestCase(IMessageSink diagnosticMessageSink, TestMethodDisplay defaultMethodDisplay, TestMethodDisplayOptions defaultMethodDisplayOptions, ITestMethod testMethod)
        : base(diagnosticMessageSink, defaultMethodDisplay, defaultMethodDisplayOptions, testMethod)
    {
    }

    public override async Task<RunSummary> RunAsync(IMessageSink diagnosticMessageSink, IMessageBus messageBus, object[] constructorArguments, ExceptionAggregator aggregator, CancellationTokenSource cancellationTokenSource)
    {
        var bus = new SkipTranslatingBus(messageBus);
        var summary = await base.RunAsync(diagnosticMessageSink, bus, constructorArguments, aggregator, cancellationTokenSource);
        if (bus.Skipped > 0)
        {
            summary.Failed -= bus.Skipped;
            summary.Skipped += bus.Skipped;
        }

        return summary;
    }

    private sealed class SkipTranslatingBus(IMessageBus inner) : IMessageBus
    {
        public int Skipped { get; private set; }

        public bool QueueMessage(IMessageSinkMessage message)
        {
            if (message is ITestFailed failed && failed.ExceptionTypes.Length > 0 && failed.ExceptionTypes[0] == typeof(SkipException).FullName)
            {
                Skipped++;
                return inner.QueueMessage(new TestSkipped(failed.Test, failed.Messages[0]));
            }

            return inner.QueueMessage(message);
        }

        // The inner bus belongs to the runner.
        public void Dispose()
        {
        }
    }
}
