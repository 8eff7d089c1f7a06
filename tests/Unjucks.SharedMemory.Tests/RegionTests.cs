namespace Unjucks.SharedMemory.Tests;

public class RegionTests : RegionTestBase
{
    [Test]
    public void Create_then_open_shares_state_and_reads_back_the_creators_options()
    {
        string name = NewName();
        SharedRegion creator = Region(name);
        using SharedRegion opener = SharedRegion.Open(name, Options with { StateSlots = 1024, MessageBytes = 999 });
        Assert.That(opener.Options, Is.EqualTo(creator.Options));
        Assert.That(opener.Options.StateSlots, Is.EqualTo(64));
        Assert.That(opener.FilePath, Is.EqualTo(Path.Combine(Directory, name + ".region")));

        long version = creator.State.Write("k", [42]);
        Span<byte> buffer = stackalloc byte[4];
        Assert.That(opener.State.TryRead("k", buffer, out int length, out long read), Is.True);
        Assert.That((length, read, buffer[0]), Is.EqualTo((1, version, (byte)42)));
    }

    [Test]
    public void Files_and_directory_are_private()
    {
        SharedRegion region = Region();
        Assert.That(File.GetUnixFileMode(region.FilePath), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        region.Agents.Register();
        string agents = region.FilePath + ".agents";
        Assert.That(File.GetUnixFileMode(agents), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
    }

    [Test]
    public void Default_directory_is_per_user_and_0700()
    {
        string name = NewName();
        using (SharedRegion region = SharedRegion.CreateOrOpen(name, new SharedRegionOptions { StateSlots = 16, QueueCapacity = 2, MaxQueues = 1 }))
        {
            string directory = Path.GetDirectoryName(region.FilePath)!;
            Assert.That(Path.GetFileName(directory), Does.StartWith("unjucks-"));
            Assert.That(File.GetUnixFileMode(directory) & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.OtherRead), Is.EqualTo(UnixFileMode.None));
        }

        Assert.That(SharedRegion.Delete(name), Is.True);
    }

    [Test]
    public void Open_of_a_missing_region_throws_FileNotFoundException()
    {
        Assert.Throws<FileNotFoundException>(() => SharedRegion.Open("missing", Options));
    }

    [Test]
    public void Delete_and_list()
    {
        string a = NewName();
        string b = NewName();
        Region(a);
        Region(b);
        Assert.That(SharedRegion.List(Options), Is.EquivalentTo(new[] { a, b }));
        Assert.That(SharedRegion.Delete(a, Options), Is.True);
        Assert.That(SharedRegion.Delete(a, Options), Is.False);
        Assert.That(SharedRegion.List(Options), Is.EqualTo(new[] { b }));
    }

    [TestCase("")]
    [TestCase("../escape")]
    [TestCase(".hidden")]
    [TestCase("with space")]
    public void Invalid_names_are_rejected(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => SharedRegion.CreateOrOpen(name, Options))!;
        Assert.That(error.Message, Does.Contain("Region name"));
    }

    [Test]
    public void Invalid_options_are_rejected_naming_the_option()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => SharedRegion.CreateOrOpen(NewName(), Options with { StateSlots = 100 }))!;
        Assert.That(error.Message, Does.Contain("StateSlots"));
        error = Assert.Throws<ArgumentOutOfRangeException>(() => SharedRegion.CreateOrOpen(NewName(), Options with { MaxAgents = 0 }))!;
        Assert.That(error.Message, Does.Contain("MaxAgents"));
    }

    [Test]
    public void Use_after_dispose_throws_ObjectDisposedException()
    {
        SharedRegion region = SharedRegion.CreateOrOpen(NewName(), Options);
        SharedStateTable state = region.State;
        region.Dispose();
        Assert.Throws<ObjectDisposedException>(() => state.Write("k", [1]));
        Assert.Throws<ObjectDisposedException>(() => _ = region.ChangeSequence);
        Assert.Throws<ObjectDisposedException>(() => region.Queue("q"));
        region.Dispose(); // idempotent
    }

    [Test, Repeat(3)]
    public void Concurrent_create_or_open_from_threads_yields_one_region()
    {
        string name = NewName();
        var regions = new SharedRegion[4];
        Parallel.For(0, regions.Length, i => regions[i] = SharedRegion.CreateOrOpen(name, Options));
        try
        {
            Parallel.For(0, regions.Length, i => regions[i].State.Write("k" + i, [(byte)i]));
            Span<byte> buffer = stackalloc byte[4];
            for (int i = 0; i < regions.Length; i++)
            {
                Assert.That(regions[0].State.TryRead("k" + i, buffer, out _, out _), Is.True, $"k{i}");
                Assert.That(buffer[0], Is.EqualTo((byte)i));
            }
        }
        finally
        {
            foreach (SharedRegion region in regions)
            {
                region.Dispose();
            }
        }
    }
}
