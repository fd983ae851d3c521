using BenchmarkDotNet.Running;
using Cloister.Benchmarks;

// `transport` runs the router <-> worker transport load generator (docs/benchmarks.md); `transport-peer` is its child.
return args.FirstOrDefault() switch
{
    "transport" => await RingTransportLoad.RunAsync(args[1..]),
    "transport-peer" => await RingTransportLoad.ServePeerAsync(args[1..]),
    _ => RunBenchmarkDotNet(args),
};

static int RunBenchmarkDotNet(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    return 0;
}
