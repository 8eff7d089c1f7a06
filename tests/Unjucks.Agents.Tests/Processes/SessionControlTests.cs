using Unjucks.Agents.Processes;

namespace Unjucks.Agents.Tests.Processes;

/// <summary>The session control file's layout, ready protocol and refusals; the launch arguments' round trip.</summary>
[TestFixture]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SessionControlTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = AgentTestHostLauncher.NewDirectory();

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void LayoutIsPinned()
    {
        Assert.Multiple(() =>
        {
            Assert.That(SessionControlLayout.VersionOffset, Is.EqualTo(8));
            Assert.That(SessionControlLayout.JobWordOffset, Is.EqualTo(128));
            Assert.That(SessionControlLayout.StopOffset, Is.EqualTo(144));
            Assert.That(SessionControlLayout.AgentsOffset, Is.EqualTo(256));
            Assert.That(SessionControlLayout.AgentStride, Is.EqualTo(256));
            Assert.That(SessionControlLayout.AgentLineOffset, Is.EqualTo(128), "the agent's line is 128 bytes from the coordinator's");
            Assert.That(SessionControlLayout.FinishedJobOffset % 8, Is.Zero, "64-bit counters are 8-aligned");
            Assert.That(SessionControlLayout.AgentLineEnd, Is.LessThanOrEqualTo(SessionControlLayout.AgentStride), "the agent line fits its block");
            Assert.That(SessionControlLayout.HeapBytesOffset, Is.EqualTo(128 + 96), "heap bytes follow the parked ticks");
            Assert.That(SessionControlLayout.SizeOf(4), Is.EqualTo(256 + (4 * 256)));
        });
    }

    [Test]
    public void JobWordPacksSequenceAndPhase()
    {
        long word = SessionControlLayout.PackJob(123_456_789, JobPhase.Cancelled);
        Assert.That(SessionControlLayout.UnpackJob(word), Is.EqualTo((123_456_789L, JobPhase.Cancelled)));
    }

    [Test]
    public void CreatedFileOpensWithItsValuesAndIsPrivate()
    {
        using var created = SessionControl.Create(_dir, "s1", 3, coordinatorSlot: 7);
        created.SetActive(1, true);
        created.PublishJob(5, JobPhase.Running, 42, SessionControlLayout.JobFlagPayloads);
        created.PublishRegistration(2, 11);
        using var opened = SessionControl.Open(_dir, "s1", TimeSpan.FromSeconds(1));
        Assert.Multiple(() =>
        {
            Assert.That(opened.AgentCount, Is.EqualTo(3));
            Assert.That(opened.CoordinatorSlot, Is.EqualTo(7));
            Assert.That(opened.IsActive(1), Is.True);
            Assert.That(opened.IsActive(0), Is.False);
            Assert.That(SessionControlLayout.UnpackJob(opened.JobWord), Is.EqualTo((5L, JobPhase.Running)));
            Assert.That(opened.JobTaskCount, Is.EqualTo(42));
            Assert.That(opened.RegistrySlot(2), Is.EqualTo(11));
            Assert.That(opened.RegistrySlot(0), Is.EqualTo(-1), "unregistered agents read -1");
            Assert.That(File.GetUnixFileMode(created.FilePath), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        });
        Assert.That(() => opened.IsActive(3), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("agents 0 to 2"));
    }

    [Test]
    public void CorruptOrForeignFilesAreRefusedWithTypedErrors()
    {
        string path = SessionControl.PathFor(_dir, "bad");
        File.WriteAllBytes(path, new byte[100]);
        Assert.That(() => SessionControl.Open(_dir, "bad", TimeSpan.Zero), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("truncated"));

        File.WriteAllBytes(path, new byte[1024]);
        Assert.That(() => SessionControl.Open(_dir, "bad", TimeSpan.FromMilliseconds(20)), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("never became ready"));

        byte[] wrongMagic = new byte[1024];
        BitConverter.TryWriteBytes(wrongMagic.AsSpan(8), SessionControlLayout.Version);
        BitConverter.TryWriteBytes(wrongMagic.AsSpan(12), 1);
        File.WriteAllBytes(path, wrongMagic);
        Assert.That(() => SessionControl.Open(_dir, "bad", TimeSpan.Zero), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("wrong magic"));

        using (SessionControl.Create(_dir, "shared", 1, 0))
        {
        }

        File.SetUnixFileMode(SessionControl.PathFor(_dir, "shared"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupWrite);
        Assert.That(() => SessionControl.Open(_dir, "shared", TimeSpan.Zero), Throws.InstanceOf<UnauthorizedAccessException>().With.Message.Contains("writable by group"));
        Assert.That(() => SessionControl.Open(_dir, "absent", TimeSpan.Zero), Throws.InstanceOf<FileNotFoundException>());
    }

    [Test]
    public void LaunchArgumentsRoundTripAndBadOnesAreExplained()
    {
        var launch = new AgentLaunch("region-1", "/dev/shm/x y", "sess", 12);
        AgentLaunch parsed = AgentLaunch.Parse([.. launch.ToArguments(), "--mode", "f"], out IReadOnlyList<string> rest);
        Assert.That(parsed, Is.EqualTo(launch));
        Assert.That(rest, Is.EqualTo(new[] { "--mode", "f" }));

        Assert.That(() => AgentLaunch.Parse(["--region", "r", "--dir", "d", "--session", "s"], out _),
            Throws.ArgumentException.With.Message.Contains("--agent is missing"));
        Assert.That(() => AgentLaunch.Parse(["--region", "r", "--dir", "d", "--session", "s", "--agent", "-1"], out _),
            Throws.ArgumentException.With.Message.Contains("not a non-negative integer"));
        Assert.That(() => AgentLaunch.Parse(["--region", "r", "--region", "r2"], out _),
            Throws.ArgumentException.With.Message.Contains("given twice"));
        Assert.That(() => AgentLaunch.Parse(["--agent"], out _), Throws.ArgumentException.With.Message.Contains("needs a value"));
    }

    [Test]
    public void BadOptionsAreRefusedBeforeAnythingStarts()
    {
        static System.Diagnostics.ProcessStartInfo Never(AgentLaunch l) => throw new AssertionException("no agent may be launched");
        Assert.That(async () => await JobCoordinator.StartAsync(new JobCoordinatorOptions { AgentCount = 0, Directory = _dir }, Never),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("AgentCount"));
        Assert.That(async () => await JobCoordinator.StartAsync(new JobCoordinatorOptions { DequeCapacity = 100, Directory = _dir }, Never),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("power of two"));
        Assert.That(async () => await JobCoordinator.StartAsync(new JobCoordinatorOptions { SessionName = "bad/name", Directory = _dir }, Never),
            Throws.ArgumentException.With.Message.Contains("Session name"));
        Assert.That(async () => await JobCoordinator.StartAsync(new JobCoordinatorOptions { MaxQueuedPerAgent = 5000, Directory = _dir }, Never),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("MaxQueuedPerAgent"));
        Assert.That(Directory.EnumerateFileSystemEntries(_dir), Is.Empty, "nothing was created");
    }
}
