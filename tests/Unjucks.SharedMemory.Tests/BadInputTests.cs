using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using Unjucks.SharedMemory.Layout;

namespace Unjucks.SharedMemory.Tests;

public class BadInputTests : RegionTestBase
{
    private string MakeValidRegionFile()
    {
        string name = NewName();
        using (SharedRegion.CreateOrOpen(name, Options))
        {
        }

        return name;
    }

    private string PathOf(string name) => Path.Combine(Directory, name + ".region");

    [Test]
    public void A_fifo_a_folder_or_a_link_named_like_a_region_is_refused_without_waiting()
    {
        string fifo = NewName();
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [PathOf(fifo)]))
        {
            mkfifo.WaitForExit();
            Assert.That(mkfifo.ExitCode, Is.Zero);
        }

        string folder = NewName();
        System.IO.Directory.CreateDirectory(PathOf(folder));
        string link = NewName();
        string target = MakeValidRegionFile();
        File.CreateSymbolicLink(PathOf(link), PathOf(target)); // even a link to a good region of ours

        var open = Task.Run(() => new[] { fifo, folder, link }.Select(n =>
            Assert.Throws<SharedRegionFormatException>(() => SharedRegion.Open(n, Options))!.Message).ToList());
        Assert.That(open.Wait(TimeSpan.FromSeconds(60)), Is.True, "opening waited");

        Assert.That(open.Result, Is.EqualTo(new[]
        {
            $"Region file '{PathOf(fifo)}' is a FIFO, not a regular file, so it cannot be one; remove it.",
            $"Region file '{PathOf(folder)}' is a folder, not a regular file, so it cannot be one; remove it.",
            $"Region file '{PathOf(link)}' is a symbolic link, not a regular file, so it cannot be one; remove it.",
        }));
        File.Delete(PathOf(fifo));
        System.IO.Directory.Delete(PathOf(folder));
        File.Delete(PathOf(link));
        Assert.That(SharedRegion.Delete(target, Options), Is.True);
    }

    [Test]
    public void Truncated_file_is_rejected()
    {
        string name = MakeValidRegionFile();
        using (var stream = new FileStream(PathOf(name), FileMode.Open))
        {
            stream.SetLength(stream.Length / 2);
        }

        var error = Assert.Throws<SharedRegionFormatException>(() => SharedRegion.Open(name, Options))!;
        Assert.That(error.Message, Does.Contain("truncated"));
        AssertAnotherRegionWorks();
    }

    [Test]
    public void File_shorter_than_the_header_is_rejected()
    {
        string name = MakeValidRegionFile();
        using (var stream = new FileStream(PathOf(name), FileMode.Open))
        {
            stream.SetLength(100);
        }

        var error = Assert.Throws<SharedRegionFormatException>(() => SharedRegion.Open(name, Options))!;
        Assert.That(error.Message, Does.Contain("truncated"));
        AssertAnotherRegionWorks();
    }

    [Test]
    public void Wrong_magic_is_rejected()
    {
        string name = MakeValidRegionFile();
        PatchFile(name, 0, BitConverter.GetBytes(0x1122334455667788UL));
        var error = Assert.Throws<SharedRegionFormatException>(() => SharedRegion.CreateOrOpen(name, Options))!;
        Assert.That(error.Message, Does.Contain("wrong magic"));
        AssertAnotherRegionWorks();
    }

    [Test]
    public void Other_major_version_is_rejected()
    {
        string name = MakeValidRegionFile();
        PatchFile(name, RegionLayout.LayoutVersionOffset, BitConverter.GetBytes((RegionLayout.MajorVersion + 1) << 16));
        var error = Assert.Throws<SharedRegionFormatException>(() => SharedRegion.Open(name, Options))!;
        Assert.That(error.Message, Does.Contain($"layout version {RegionLayout.MajorVersion + 1}.0"));
        AssertAnotherRegionWorks();
    }

    [Test]
    public void Newer_minor_version_is_accepted()
    {
        string name = MakeValidRegionFile();
        PatchFile(name, RegionLayout.LayoutVersionOffset, BitConverter.GetBytes((RegionLayout.MajorVersion << 16) | 7));
        using SharedRegion region = SharedRegion.Open(name, Options);
        Assert.That(region.State.Write("k", [1]), Is.EqualTo(1));
    }

    [Test]
    public void Section_table_out_of_bounds_is_rejected()
    {
        string name = MakeValidRegionFile();
        byte[] offset = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(offset, 1L << 40);
        PatchFile(name, RegionLayout.SectionTableOffset + (3 * RegionLayout.SectionEntryBytes), offset);
        var error = Assert.Throws<SharedRegionFormatException>(() => SharedRegion.Open(name, Options))!;
        Assert.That(error.Message, Does.Contain("StateTable").And.Contain("outside"));
        AssertAnotherRegionWorks();
    }

    [Test, Repeat(3)]
    public void Random_bytes_are_rejected()
    {
        string name = NewName();
        File.WriteAllBytes(PathOf(name), RandomNumberGenerator.GetBytes(64 * 1024));
        File.SetUnixFileMode(PathOf(name), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Throws<SharedRegionFormatException>(() => SharedRegion.Open(name, Options));
        AssertAnotherRegionWorks();
    }

    [Test]
    public void Random_header_corruption_opens_cleanly_or_throws_a_format_exception()
    {
        string name = MakeValidRegionFile();
        byte[] pristine = File.ReadAllBytes(PathOf(name));
        var random = new Random(12345);
        int rejected = 0;
        for (int round = 0; round < 200; round++)
        {
            byte[] corrupt = (byte[])pristine.Clone();
            for (int flips = random.Next(1, 4); flips > 0; flips--)
            {
                int offset = random.Next(RegionLayout.HeaderBytes);
                if (offset is >= RegionLayout.LayoutVersionOffset and < RegionLayout.LayoutVersionOffset + 4)
                {
                    continue; // a zero LayoutVersion means "not ready yet": covered by the never-ready test (2 s wait)
                }

                corrupt[offset] ^= (byte)random.Next(1, 256);
            }

            File.WriteAllBytes(PathOf(name), corrupt);
            try
            {
                using SharedRegion region = SharedRegion.Open(name, Options);
                region.State.Write("k", [1]); // whatever was accepted must be usable
                Assert.That(region.State.TryRead("k", new byte[64], out _, out _), Is.True, $"round {round}");
            }
            catch (SharedRegionFormatException)
            {
                rejected++;
            }
        }

        Assert.That(rejected, Is.GreaterThan(0), "some corruption must be detected");
        AssertAnotherRegionWorks();
    }

    [Test]
    public void Region_that_never_became_ready_is_reported()
    {
        string name = NewName();
        using (File.Create(PathOf(name)))
        {
        }

        File.SetUnixFileMode(PathOf(name), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var error = Assert.Throws<SharedRegionFormatException>(() => SharedRegion.CreateOrOpen(name, Options))!;
        Assert.That(error.Message, Does.Contain("never became ready"));
        Assert.That(SharedRegion.Delete(name, Options), Is.True);
        using SharedRegion fresh = SharedRegion.CreateOrOpen(name, Options);
        Assert.That(fresh.State.Write("k", [1]), Is.EqualTo(1));
    }

    [TestCase(UnixFileMode.GroupWrite)]
    [TestCase(UnixFileMode.OtherWrite)]
    public void Group_or_world_writable_file_is_refused(UnixFileMode extra)
    {
        string name = MakeValidRegionFile();
        File.SetUnixFileMode(PathOf(name), UnixFileMode.UserRead | UnixFileMode.UserWrite | extra);
        var error = Assert.Throws<UnauthorizedAccessException>(() => SharedRegion.Open(name, Options))!;
        Assert.That(error.Message, Does.Contain("writable by group or others"));
        AssertAnotherRegionWorks();
    }

    [Test]
    public void File_owned_by_another_user_is_refused()
    {
        if (Unjucks.SharedMemory.Native.LibC.GetEuid() != 0)
        {
            Assert.Ignore("Needs root to chown a file to another user.");
        }

        string name = MakeValidRegionFile();
        using (Process chown = Process.Start("chown", ["65534", PathOf(name)]))
        {
            chown.WaitForExit();
            Assert.That(chown.ExitCode, Is.Zero, "chown failed");
        }

        var error = Assert.Throws<UnauthorizedAccessException>(() => SharedRegion.Open(name, Options))!;
        Assert.That(error.Message, Does.Contain("owned by uid 65534"));
        AssertAnotherRegionWorks();
    }

    [Test]
    public void Oversized_key_value_empty_key_and_small_destination_are_rejected()
    {
        SharedRegion region = Region();
        SharedStateTable state = region.State;
        var keyError = Assert.Throws<ArgumentException>(() => state.Write(new string('k', 33), [1]))!;
        Assert.That(keyError.Message, Does.Contain("33 UTF-8 bytes").And.Contain("MaxKeyBytes is 32"));
        Assert.That(Assert.Throws<ArgumentException>(() => state.Write("é" + new string('k', 31), [1]))!.ParamName, Is.EqualTo("key"));
        Assert.That(Assert.Throws<ArgumentException>(() => state.Write("", [1]))!.Message, Does.Contain("empty"));
        Assert.Throws<ArgumentNullException>(() => state.Write(null!, [1]));
        var valueError = Assert.Throws<ArgumentException>(() => state.Write("k", new byte[65]))!;
        Assert.That(valueError.Message, Does.Contain("65 bytes").And.Contain("MaxValueBytes is 64"));
        Assert.That(Assert.Throws<ArgumentException>(() => state.TryUpdate("k", new byte[65], 0, out _))!.ParamName, Is.EqualTo("value"));

        state.Write("k", new byte[10]);
        var destinationError = Assert.Throws<ArgumentException>(() => state.TryRead("k", new byte[9], out _, out _))!;
        Assert.That(destinationError.Message, Does.Contain("at least 10 bytes"));

        SharedMessageQueue queue = region.Queue("q");
        Assert.Throws<ArgumentException>(() => queue.TryEnqueue(new byte[17]));
        Assert.That(queue.TryEnqueue(new byte[16]), Is.True);
        Assert.Throws<ArgumentException>(() => queue.TryDequeue(new byte[15], out _));
        Assert.That(queue.TryDequeue(new byte[16], out int length), Is.True, "the message stays queued after a too-small destination");
        Assert.That(length, Is.EqualTo(16));
        Assert.Throws<ArgumentException>(() => region.Queue(new string('q', 57)));
        Assert.Throws<ArgumentException>(() => region.Lock(""));

        // The region still works after all of that.
        Assert.That(state.Write("k", [7]), Is.EqualTo(2));
        AssertAnotherRegionWorks();
    }

    private void PatchFile(string name, long offset, byte[] bytes)
    {
        using var stream = new FileStream(PathOf(name), FileMode.Open, FileAccess.ReadWrite);
        stream.Position = offset;
        stream.Write(bytes);
    }
}
