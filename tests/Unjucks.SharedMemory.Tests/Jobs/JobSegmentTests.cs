using System.Buffers.Binary;
using Unjucks.SharedMemory.Jobs;

namespace Unjucks.SharedMemory.Tests.Jobs;

[TestFixture]
public class JobSegmentTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Path.Combine(Path.GetTempPath(), "unjucks-jobseg-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Test]
    public void Layout_is_pinned()
    {
        Assert.Multiple(() =>
        {
            Assert.That(JobSegmentLayout.VersionOffset, Is.EqualTo(8));
            Assert.That(JobSegmentLayout.CreatorPidOffset, Is.EqualTo(56));
            Assert.That(JobSegmentLayout.DequesOffset, Is.EqualTo(128));
            Assert.That(JobSegmentLayout.InboxCapacityOffset, Is.EqualTo(60));
            Assert.That(JobSegmentLayout.InboxStrideOffset, Is.EqualTo(72));
            Assert.That(JobSegmentLayout.SizeOf(2, 16, 4, 10), Is.EqualTo(128 + (2 * 512) + (2 * 512) + 128 + (10 * 128)));
            Assert.That(JobSegmentLayout.TableOffset(2, 16, 4), Is.EqualTo(128 + (2 * 512) + (2 * 512)));
            Assert.That(BitConverter.GetBytes(JobSegmentLayout.Magic), Is.EqualTo("UJOBS\0\0\0"u8.ToArray()));
        });
    }

    [Test]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Create_then_open_shares_deques_and_table_with_mode_0600()
    {
        using var created = JobSegment.Create(_dir, "job1", 3, 16, 100);
        Assert.That(File.GetUnixFileMode(created.FilePath), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.That(File.GetUnixFileMode(_dir), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
        using var opened = JobSegment.Open(_dir, "job1");
        Assert.That((opened.AgentCount, opened.DequeCapacity, opened.Tasks.Capacity), Is.EqualTo((3, 16, 100)));

        Assert.That(created.Tasks.TryPlace(42, 2), Is.True);
        Assert.That(created.Deque(2).Push(42), Is.True);
        Assert.That(opened.Stealer(2).TrySteal(out long id), Is.True);
        Assert.That(id, Is.EqualTo(42));
        Assert.That(opened.Tasks.TryLease(id, 1, out long epoch), Is.True);
        Assert.That(opened.Tasks.TryCommit(id, 1, epoch, 7), Is.True);
        Assert.That(created.Tasks.TryReadResult(42, out var r), Is.True);
        Assert.That(r.Value, Is.EqualTo(7));
        Assert.That(created.Inbox(1).TryEnqueue(5), Is.True);
        Assert.That(opened.Inbox(1).TryDequeue(out long fromInbox), Is.True);
        Assert.That(fromInbox, Is.EqualTo(5));
        Assert.Throws<ArgumentOutOfRangeException>(() => created.Deque(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => created.Inbox(-1));
        Assert.Throws<IOException>(() => JobSegment.Create(_dir, "job1", 1, 16, 1));
        Assert.That(JobSegment.Delete(_dir, "job1"), Is.True);
        Assert.That(JobSegment.Delete(_dir, "job1"), Is.False);
    }

    [Test]
    public void Missing_file_is_FileNotFound() =>
        Assert.Throws<FileNotFoundException>(() => JobSegment.Open(Path.GetTempPath(), "no-such-job-" + Guid.NewGuid().ToString("N")));

    [TestCase("magic", "bad magic")]
    [TestCase("major", "major version")]
    [TestCase("notready", "never marked it ready")]
    [TestCase("truncated", "truncated")]
    [TestCase("tiny", "shorter than")]
    [TestCase("capacity", "header capacities are invalid")]
    [TestCase("offsets", "disagree")]
    [TestCase("inbox", "header capacities are invalid")]
    [TestCase("random", "bad magic")]
    public void Corrupt_files_throw_JobSegmentFormatException(string damage, string expected)
    {
        string path;
        using (var s = JobSegment.Create(_dir, "bad", 2, 8, 4))
        {
            path = s.FilePath;
        }

        byte[] bytes = File.ReadAllBytes(path);
        switch (damage)
        {
            case "magic": bytes[0] = (byte)'X'; break;
            case "major": BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(JobSegmentLayout.VersionOffset), 2 << 16); break;
            case "notready": BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(JobSegmentLayout.VersionOffset), 0); break;
            case "truncated": bytes = bytes[..^128]; break;
            case "tiny": bytes = bytes[..100]; break;
            case "capacity": BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(JobSegmentLayout.DequeCapacityOffset), 6); break;
            case "offsets": BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(JobSegmentLayout.TableOffsetOffset), 4096); break;
            case "inbox": BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(JobSegmentLayout.InboxCapacityOffset), 0); break;
            case "random": new Random(5).NextBytes(bytes); break;
        }

        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<JobSegmentFormatException>(() => JobSegment.Open(_dir, "bad", TimeSpan.FromMilliseconds(20)));
        Assert.That(e!.Message, Does.Contain(expected));
        Assert.That(e.FilePath, Is.EqualTo(path));
    }

    [Test]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void A_group_writable_file_is_refused()
    {
        using (JobSegment.Create(_dir, "open", 1, 4, 1))
        {
        }

        File.SetUnixFileMode(JobSegment.PathFor(_dir, "open"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupWrite);
        var e = Assert.Throws<UnauthorizedAccessException>(() => JobSegment.Open(_dir, "open"));
        Assert.That(e!.Message, Does.Contain("writable by group or others"));
    }

    [Test]
    public void Job_names_with_separators_are_rejected() =>
        Assert.Throws<ArgumentException>(() => JobSegment.PathFor(_dir, "../evil"));
}
