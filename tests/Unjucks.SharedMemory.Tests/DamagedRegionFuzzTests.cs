using System.Globalization;
using Unjucks.TestSupport;

namespace Unjucks.SharedMemory.Tests;

/// <summary>
/// The fuzzers' CI slices (tests/Unjucks.SharedMemory.TestAgent/Fuzz.cs and SessionFuzz.cs): 10,000 damaged regions,
/// every public call on each, and 10,000 damaged session files, what coordinators and agents do on each, in a
/// child process so that a crash is seen as one. No crash, no hang (each call under the child's
/// 10 s watchdog), no untyped exception. The 100,000-case run and its figures are in docs/performance.md.
/// UNJUCKS_FUZZ_CASES and UNJUCKS_FUZZ_SEED change the slice.
/// </summary>
[TestFixture]
public sealed class DamagedRegionFuzzTests
{
    [TestCase("fuzz", TestName = "Ten thousand damaged regions give only typed errors and no crash or hang")]
    [TestCase("fuzz-session", TestName = "Ten thousand damaged session files give only typed errors and no crash or hang")]
    public void Damaged_files_give_only_typed_errors_and_no_crash_or_hang(string mode)
    {
        int cases = int.TryParse(Environment.GetEnvironmentVariable("UNJUCKS_FUZZ_CASES"), CultureInfo.InvariantCulture, out int c) ? c : 10_000;
        int seed = int.TryParse(Environment.GetEnvironmentVariable("UNJUCKS_FUZZ_SEED"), CultureInfo.InvariantCulture, out int s) ? s : 20261203;
        string dir = Path.Combine("/dev/shm", "unjucks-fuzz-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            using var child = ChildProcess.Start("Unjucks.SharedMemory.TestAgent", [mode, dir, seed.ToString(CultureInfo.InvariantCulture), cases.ToString(CultureInfo.InvariantCulture)]);
            string? last = null;
            string? summary = null;
            var untyped = new List<string>();
            var deadline = DateTime.UtcNow.AddMinutes(10);
            while (DateTime.UtcNow < deadline)
            {
                string? line = child.TryReadLine(TimeSpan.FromMinutes(2));
                if (line is null)
                {
                    break;
                }

                if (line.StartsWith("case ", StringComparison.Ordinal))
                {
                    last = line;
                }
                else if (line.StartsWith(mode + " ", StringComparison.Ordinal))
                {
                    summary = line;
                }
                else if (line.StartsWith("slow ", StringComparison.Ordinal))
                {
                    TestContext.Out.WriteLine(line);
                }
                else
                {
                    untyped.Add(line);
                }
            }

            child.WaitForExitAsync(TimeSpan.FromMinutes(1)).GetAwaiter().GetResult();
            TestContext.Out.WriteLine(summary);
            Assert.Multiple(() =>
            {
                Assert.That(child.ExitCode, Is.Zero, $"the fuzzer ended early after {last} ({string.Join("; ", untyped)}) stderr: {child.StandardError}");
                Assert.That(summary, Does.StartWith($"{mode} cases {cases} ").And.Contain(" untyped 0 "), string.Join("\n", untyped));
                Assert.That(untyped, Is.Empty);
            });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
