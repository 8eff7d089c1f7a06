using System.Diagnostics;
using Unjucks.SharedMemory.Native;
using Unjucks.TestSupport;

namespace Unjucks.SharedMemory.Tests;

/// <summary>
/// A nearly full /dev/shm: a region that does not fit is an IOException saying how much it needed and how much is
/// free, its file is removed, and nothing is mapped (so no SIGBUS). Run in a private mount namespace
/// (<c>unshare -m</c>) on a 16 MiB tmpfs with 1 MiB free; skipped with the reason where that is not permitted.
/// </summary>
[TestFixture]
public sealed class FullShmTests
{
    [Test]
    public void A_region_that_does_not_fit_is_an_IOException_and_leaves_the_tmpfs_as_it_was()
    {
        if (LibC.GetEuid() != 0)
        {
            Assert.Ignore("Needs root: mounting a small tmpfs in a private mount namespace (unshare -m).");
        }

        string mountPoint = Path.Combine(Path.GetTempPath(), "unjucks-full-shm-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(mountPoint);
        try
        {
            var agent = ChildProcess.StartInfo("Unjucks.SharedMemory.TestAgent", ["create-sized", Path.Combine(mountPoint, "r"), "big", "4096"]);
            var start = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true };
            const string script = """
                m="$1"; shift
                mount -t tmpfs -o size=16m tmpfs "$m" || exit 77
                head -c 15728640 /dev/zero > "$m/fill"
                mkdir -m 700 "$m/r"
                echo "before $(df -B1 --output=avail "$m" | tail -1 | tr -d ' ')"
                "$@"
                echo "exit $?"
                """;
            foreach (string a in (string[])["-m", "--propagation", "private", "sh", "-c", script, "sh", mountPoint, agent.FileName, .. agent.ArgumentList])
            {
                start.ArgumentList.Add(a);
            }

            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            Assert.That(process.WaitForExit(TimeSpan.FromMinutes(2)), Is.True, "the child hung");
            if (process.ExitCode == 77 || (process.ExitCode != 0 && error.Result.Contains("unshare", StringComparison.Ordinal)))
            {
                Assert.Ignore($"A private mount namespace with a tmpfs is not permitted here: {error.Result.Trim()}");
            }

            var lines = output.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            string Value(string key) => lines.Single(l => l.StartsWith(key + " ", StringComparison.Ordinal))[(key.Length + 1)..];
            Assert.Multiple(() =>
            {
                Assert.That(Value("exit"), Is.EqualTo("3"), output.Result + error.Result);
                Assert.That(Value("refused"), Does.StartWith("IOException: No space for the region '" + Path.Combine(mountPoint, "r", "big.region") + "': it needs ")
                    .And.Contain(" free. Free space").And.Contain("SharedRegionOptions.Directory"), output.Result);
                Assert.That(Value("free"), Is.EqualTo(Value("before")), "the tmpfs has as much free as before");
                Assert.That(Value("entries"), Is.EqualTo("0"), "no region file left");
            });
        }
        finally
        {
            Directory.Delete(mountPoint); // only ever mounted inside the child's namespace: empty here
        }
    }
}
