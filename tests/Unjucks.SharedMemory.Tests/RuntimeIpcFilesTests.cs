using Unjucks.SharedMemory.Native;
using Unjucks.TestSupport;

namespace Unjucks.SharedMemory.Tests;

/// <summary>What the .NET runtime of a killed process leaves in the temporary folder is removed, matched by pid and
/// start time; a live process's files and a link's target are never touched.</summary>
[TestFixture]
public sealed class RuntimeIpcFilesTests
{
    [Test]
    public async Task A_killed_childs_fifos_and_socket_stay_until_removed_by_pid_and_start_time()
    {
        using var child = ChildProcess.Start("Unjucks.SharedMemory.TestAgent", ["echo-pipe", "8"], redirectInput: true);
        long startTime = ProcessIdentity.TryReadStartTime(child.Id) ?? throw new AssertionException("no start time");
        string[] paths = [.. Names(child.Id, startTime).Select(n => Path.Combine(Path.GetTempPath(), n))];
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!paths.All(File.Exists) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.That(paths.Where(p => !File.Exists(p)), Is.Empty, "the runtime made its entries");
        Assert.That(RuntimeIpcFiles.RemoveLeftovers(child.Id, startTime), Is.Zero, "a running process's entries stay");
        Signals.Send(child.Id, 9);
        await child.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.That(paths.All(File.Exists), Is.True, "SIGKILL: the runtime could not remove them");
        Assert.That(RuntimeIpcFiles.RemoveLeftovers(child.Id, startTime + 1), Is.Zero, "another start time is another process");
        Assert.That(RuntimeIpcFiles.RemoveLeftovers(child.Id, startTime), Is.EqualTo(3));
        Assert.That(paths.Where(File.Exists), Is.Empty);
    }

    [Test]
    public void RemoveStale_removes_dead_processes_entries_only_and_never_follows_a_link()
    {
        string dir = Path.Combine(Path.GetTempPath(), "unjucks-runtime-files-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            int dead = ExitedPid();
            int self = Environment.ProcessId;
            long selfStart = ProcessIdentity.SelfStartTime;
            string target = Path.Combine(dir, "target");
            File.WriteAllText(target, "keep");
            foreach (string name in Names(dead, 12345).Take(2))
            {
                File.WriteAllText(Path.Combine(dir, name), "");
            }

            File.CreateSymbolicLink(Path.Combine(dir, $"dotnet-diagnostic-{dead}-12345-socket"), target);
            string[] live = [.. Names(self, selfStart).Select(n => Path.Combine(dir, n))];
            foreach (string path in live)
            {
                File.WriteAllText(path, "");
            }

            string unrelated = Path.Combine(dir, "clr-debug-pipe-notes.txt");
            File.WriteAllText(unrelated, "");

            var removed = RuntimeIpcFiles.RemoveStale(dir);

            Assert.That(removed.Select(Path.GetFileName), Is.EquivalentTo(Names(dead, 12345)));
            Assert.That(live.All(File.Exists) && File.Exists(unrelated), Is.True, "a live process's entries and other names stay");
            Assert.That(File.ReadAllText(target), Is.EqualTo("keep"), "the link was removed, not its target");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string[] Names(int pid, long startTime) =>
        [$"clr-debug-pipe-{pid}-{startTime}-in", $"clr-debug-pipe-{pid}-{startTime}-out", $"dotnet-diagnostic-{pid}-{startTime}-socket"];

    private static int ExitedPid()
    {
        using var exited = System.Diagnostics.Process.Start("true")!;
        exited.WaitForExit();
        return exited.Id;
    }
}
