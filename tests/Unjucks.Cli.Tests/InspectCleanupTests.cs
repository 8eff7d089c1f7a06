using Unjucks.Cli.Engine;

namespace Unjucks.Cli.Tests;

/// <summary>
/// <c>inspect --cleanup</c> over real regions and real child processes killed with SIGKILL: dead regions go, every
/// region with a live process stays.
/// </summary>
[TestFixture]
[System.Runtime.Versioning.SupportedOSPlatform("linux")] // shared regions are Linux-only (futex, flock, /proc)
internal sealed class InspectCleanupTests : InspectTestBase
{
    [Test]
    public void RemovesARegionWhoseCreatorWasKilledAndKeepsTheLiveOne()
    {
        CreateRegion("live").Agents.Register();
        using var creator = StartCreator("dead");
        int pid = creator.Id;
        creator.Kill();

        var listed = Inspector().ListRegions();
        var removed = Inspector().CleanupDeadRegions(null);

        Assert.Multiple(() =>
        {
            Assert.That(listed.Single(r => r.Name == "dead").IsDead, Is.True, "listed as dead before cleanup");
            Assert.That(listed.Single(r => r.Name == "live").IsDead, Is.False);
            Assert.That(removed.Select(r => (r.Name, r.Path)), Is.EqualTo(new[] { ("dead", RegionPath("dead")) }));
            Assert.That(removed.Single().Reason, Does.Contain($"creator {pid} is gone").And.Contain($"1 registered agent(s) ({pid}) are dead"));
            Assert.That(removed.Single().SizeBytes, Is.GreaterThan(0));
            Assert.That(File.Exists(RegionPath("dead")) || Directory.Exists(RegionPath("dead") + ".agents"), Is.False, "file and agents directory removed");
            Assert.That(File.Exists(RegionPath("live")), Is.True);
            Assert.That(Inspector().ListRegions().Select(r => r.Name), Is.EqualTo(new[] { "live" }));
        });
    }

    [Test]
    public void RemovesTheClaimsDirectoryOfAKilledCoordinatorAndKeepsTheOthers()
    {
        using (var exited = System.Diagnostics.Process.Start("true"))
        {
            exited.WaitForExit();
            ClaimsDirectory($"claims-{exited.Id}-{new string('a', 32)}");
        }

        var dead = Directory.GetDirectories(RegionDirectory, "claims-*").Single();
        var live = ClaimsDirectory($"claims-{Environment.ProcessId}-{new string('b', 32)}");
        var foreign = ClaimsDirectory("claims-not-a-job");

        var removed = Inspector().CleanupDeadRegions(null);

        Assert.Multiple(() =>
        {
            Assert.That(removed.Select(r => r.Path), Is.EqualTo(new[] { dead }));
            Assert.That(removed.Single().Reason, Does.Contain("render job whose coordinator is gone"));
            Assert.That(Directory.Exists(dead), Is.False);
            Assert.That(Directory.Exists(live), Is.True, "a running coordinator's claims stay");
            Assert.That(Directory.Exists(foreign), Is.True, "a directory that is not a job's claims stays");
        });
    }

    [Test]
    public void ListsWhatIsNotARegularFileAsUnreadableAndNeverOpensOrRemovesIt()
    {
        CreateRegion("live");
        string fifo = Path.Combine(RegionDirectory, "fifo.region");
        string link = Path.Combine(RegionDirectory, "link.region");
        string outside = Path.Combine(RegionDirectory, "..", Path.GetFileName(RegionDirectory) + "-outside.txt");
        File.WriteAllText(outside, "not a region");
        try
        {
            using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [fifo]))
            {
                mkfifo.WaitForExit();
                Assert.That(mkfifo.ExitCode, Is.Zero, "mkfifo");
            }

            File.CreateSymbolicLink(link, outside);

            // A FIFO opened for reading waits for a writer: the listing and the clean-up must not.
            var work = Task.Run(() => (Inspector().ListRegions(), Inspector().CleanupDeadRegions(null)));
            Assert.That(work.Wait(TimeSpan.FromSeconds(60)), Is.True, "inspect waited on a FIFO");
            var (listed, removed) = work.Result;

            Assert.Multiple(() =>
            {
                Assert.That(listed.Single(r => r.Name == "fifo").Problem, Does.Contain("is a FIFO, not a regular file"));
                Assert.That(listed.Single(r => r.Name == "link").Problem, Does.Contain("is a symbolic link, not a regular file"));
                Assert.That(listed.Single(r => r.Name == "live").Problem, Is.Null);
                Assert.That(removed, Is.Empty, "nothing removed: the live region is in use, the others are not regions");
                Assert.That(File.Exists(fifo) && File.Exists(link), Is.True, "left where they are");
                Assert.That(File.ReadAllText(outside), Is.EqualTo("not a region"), "the link's target is untouched");
            });
        }
        finally
        {
            File.Delete(outside);
        }
    }

    private string ClaimsDirectory(string name)
    {
        var path = Path.Combine(RegionDirectory, name);
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "x.claim"), "a\nb");
        return path;
    }

    [Test]
    public void KeepsARegionWithADeadCreatorWhileAnotherAgentLivesThenRemovesIt()
    {
        using var creator = StartCreator("shared");
        using var agent = StartAgent("shared");
        creator.Kill();

        var whileAgentLives = Inspector().CleanupDeadRegions(null);
        agent.Kill();
        var afterBothDied = Inspector().CleanupDeadRegions("shared");

        Assert.Multiple(() =>
        {
            Assert.That(whileAgentLives, Is.Empty);
            Assert.That(afterBothDied.Select(r => r.Name), Is.EqualTo(new[] { "shared" }));
            Assert.That(afterBothDied.Single().Reason, Does.Contain("2 registered agent(s)"));
            Assert.That(File.Exists(RegionPath("shared")), Is.False);
        });
    }

    [Test]
    public void KeepsADeadRegionThatALiveProcessStillMapsWithoutRegistering()
    {
        using var creator = StartCreator("mapped");
        creator.Kill();
        var reader = OpenRegion("mapped"); // maps the file, never registers: the registry cannot see us

        var listed = Inspector().ListRegions().Single();
        var removed = Inspector().CleanupDeadRegions(null);

        Assert.Multiple(() =>
        {
            Assert.That(reader.Agents.IsRegistered, Is.False);
            Assert.That(listed.IsDead, Is.True, "by its registry the region is dead");
            Assert.That(removed, Is.Empty, "but /proc shows this process maps it");
            Assert.That(File.Exists(RegionPath("mapped")), Is.True);
        });
    }

    [Test]
    public void RemovesAnUnreadableFileNobodyHasOpenAndKeepsOneThatIsOpen()
    {
        CreateRegion("good");
        InspectRegionInspectorTests.WriteBadRegion(RegionPath("junk"), "random");
        InspectRegionInspectorTests.WriteBadRegion(RegionPath("held"), "random");
        using var holder = new FileStream(RegionPath("held"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

        IReadOnlyList<RemovedRegion> removed = Inspector().CleanupDeadRegions(null);

        Assert.Multiple(() =>
        {
            Assert.That(removed.Select(r => r.Name), Is.EqualTo(new[] { "junk" }));
            Assert.That(removed.Single().Reason, Does.StartWith("not a readable region (").And.Contain("wrong magic").And.EndWith("no process has the file open or mapped"));
            Assert.That(File.Exists(RegionPath("junk")), Is.False);
            Assert.That(File.Exists(RegionPath("held")), Is.True, "open by this process");
            Assert.That(File.Exists(RegionPath("good")), Is.True);
        });
    }

    [Test]
    public void NeverRemovesAFileWritableByOthers()
    {
        string path = RegionPath("loose");
        File.WriteAllBytes(path, new byte[64]);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupWrite);

        Assert.Multiple(() =>
        {
            Assert.That(Inspector().CleanupDeadRegions(null), Is.Empty);
            Assert.That(File.Exists(path), Is.True);
        });
    }

    [Test]
    public void CleanupOfAnUnknownNameIsAClearError()
    {
        var error = Assert.Throws<CliException>(() => Inspector().CleanupDeadRegions("nobody"));

        Assert.That(error!.Message, Does.Contain("no region named 'nobody'"));
    }
}
