using Unjucks.TestSupport;

namespace Unjucks.Agents.Tests.Sessions;

/// <summary>A session's folder and files are private whatever the umask; a folder that is a link is refused.</summary>
[NonParallelizable] // the umask is the whole process's
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SessionFolderTests : SessionTestBase
{
    private const UnixFileMode Rwx = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    [TestCase(0x000u, TestName = "session under umask 000")]
    [TestCase(0x002u, TestName = "session under umask 002")]
    [TestCase(0x012u, TestName = "session under umask 022")]
    public async Task The_session_folder_is_0700_and_its_files_0600(uint mask)
    {
        var ct = Guard();
        string folder = Path.Combine(Dir, "missing", "sessions");
        List<(string Path, UnixFileMode Mode)> entries;
        using (Umask.Set(mask))
        {
            await using var session = await AgentSession.StartAsync(new AgentSessionOptions
            {
                Agents = 1,
                Directory = folder,
                InProcessHandler = (task, _) => ValueTask.FromResult(task.Payload),
            }, ct);
            var handle = await session.SubmitAsync(new byte[] { 7 }, cancellationToken: ct);
            Assert.That((await handle.Result).ToArray(), Is.EqualTo(new byte[] { 7 }));
            entries = [.. Directory.EnumerateFileSystemEntries(folder).Select(p => (p, File.GetUnixFileMode(p)))];
        }

        Assert.Multiple(() =>
        {
            Assert.That(File.GetUnixFileMode(Path.Combine(Dir, "missing")), Is.EqualTo(Rwx), "the missing parent");
            Assert.That(File.GetUnixFileMode(folder), Is.EqualTo(Rwx), "the session folder");
            Assert.That(entries, Is.Not.Empty, "the session file existed while the session ran");
            Assert.That(entries.Select(e => e.Mode), Has.All.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), string.Join(", ", entries));
            Assert.That(Directory.EnumerateFileSystemEntries(folder), Is.Empty, "nothing left");
        });
    }

    [Test]
    public async Task A_session_folder_that_is_a_link_is_refused()
    {
        string target = Path.Combine(Dir, "target");
        Directory.CreateDirectory(target, Rwx);
        string link = Path.Combine(Dir, "link");
        Directory.CreateSymbolicLink(link, target);

        var e = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => AgentSession.StartAsync(new AgentSessionOptions
        {
            Agents = 1,
            Directory = link,
            InProcessHandler = (task, _) => ValueTask.FromResult(task.Payload),
        }, Guard()));

        Assert.That(e!.Message, Does.Contain("is a symbolic link").And.Contain("AgentSessionOptions.Directory or UNJUCKS_REGION_DIR"));
        Assert.That(Directory.EnumerateFileSystemEntries(target), Is.Empty);
    }

    [Test]
    public async Task RemoveStale_skips_a_fifo_or_a_link_named_like_a_dead_sessions_file()
    {
        // Named for a coordinator that has exited, so regular files of these names would be removed.
        int dead;
        using (var exited = System.Diagnostics.Process.Start("true")!)
        {
            await exited.WaitForExitAsync(Guard());
            dead = exited.Id;
        }

        string fifo = Path.Combine(Dir, $"s{dead}-0000000000000000.session");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [fifo])!)
        {
            await mkfifo.WaitForExitAsync(Guard());
            Assert.That(mkfifo.ExitCode, Is.Zero);
        }

        string target = Path.Combine(Dir, "target");
        File.WriteAllText(target, "x");
        string link = Path.Combine(Dir, $"s{dead}-1111111111111111.in-0");
        File.CreateSymbolicLink(link, target);

        var removing = Task.Run(() => AgentSession.RemoveStale(Dir));
        Assert.That(await Task.WhenAny(removing, Task.Delay(TimeSpan.FromSeconds(60))), Is.SameAs(removing), "RemoveStale waited on a FIFO");

        Assert.That(removing.Result, Is.Empty);
        Assert.That(File.Exists(fifo) && File.Exists(link) && File.Exists(target), Is.True, "nothing that is not a regular file was touched");
        File.Delete(fifo);
        File.Delete(link);
        File.Delete(target);
    }
}
