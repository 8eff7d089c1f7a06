using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Unjucks.Benchmarks;

// BenchmarkDotNet's default toolchain builds a child project per benchmark, which needs the .NET SDK.
// The published single file (bench/publish.sh) runs where there is no SDK, so there the in-process
// toolchain becomes the default; see HostDefaults.
string[] effective = HostDefaults.Apply(args);
HostDefaults.RaisePriorityForInProcess(effective);
Summary[] summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(effective).ToArray();

// BenchmarkDotNet reports failures in its log but exits 0; CI's dry run needs a failing exit code.
return ExitCode.For(effective, summaries);
