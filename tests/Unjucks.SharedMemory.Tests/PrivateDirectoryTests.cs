using System.Diagnostics;
using Unjucks.SharedMemory.Native;
using Unjucks.TestSupport;

namespace Unjucks.SharedMemory.Tests;

/// <summary>
/// The project's folders are private whatever the umask: created 0700 (mkdir, then chmod), files 0600; a folder of
/// ours that is too wide is narrowed with a warning; a link, a file, another user's folder or (for a folder the
/// caller named) one others may write is refused with what to do. Every test works in a fresh folder of its own.
/// </summary>
[TestFixture]
public sealed class PrivateDirectoryTests
{
    private const UnixFileMode Rwx = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode Rw = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private string _base = null!;

    [SetUp]
    public void CreateBase()
    {
        _base = Path.Combine("/dev/shm", "unjucks-private-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_base, Rwx);
    }

    [TearDown]
    public void RemoveBase()
    {
        if (Directory.Exists(_base))
        {
            File.SetUnixFileMode(_base, Rwx);
            Directory.Delete(_base, recursive: true);
        }
    }

    [TestCase(0x000u, TestName = "umask 000")]
    [TestCase(0x002u, TestName = "umask 002")]
    [TestCase(0x012u, TestName = "umask 022")]
    [TestCase(0x03Fu, TestName = "umask 077")]
    public void Folders_are_0700_and_region_files_0600_whatever_the_umask(uint mask)
    {
        string root = Path.Combine(_base, "a", "root"); // two missing levels
        string own = Path.Combine(_base, "own");
        string regionPath;
        using (Umask.Set(mask))
        {
            PrivateDirectory.EnsureOwn(own, "set it elsewhere");
            using var region = SharedRegion.CreateOrOpen("r", new SharedRegionOptions { Directory = root, StateSlots = 16, QueueCapacity = 2, MaxQueues = 1 });
            region.Agents.Register(); // creates the region's .agents folder and this agent's lock file
            regionPath = region.FilePath;
            Assert.Multiple(() =>
            {
                Assert.That(File.GetUnixFileMode(Path.Combine(_base, "a")), Is.EqualTo(Rwx), "a missing parent");
                Assert.That(File.GetUnixFileMode(root), Is.EqualTo(Rwx), "the region folder");
                Assert.That(File.GetUnixFileMode(own), Is.EqualTo(Rwx), "a folder of the project's own naming");
                Assert.That(File.GetUnixFileMode(regionPath + ".agents"), Is.EqualTo(Rwx), "the .agents folder");
                Assert.That(File.GetUnixFileMode(regionPath), Is.EqualTo(Rw), "the region file");
                Assert.That(Directory.GetFiles(regionPath + ".agents").Select(File.GetUnixFileMode), Has.All.EqualTo(Rw), "the agent lock files");
            });
        }

        Assert.That(SharedRegion.Delete("r", new SharedRegionOptions { Directory = root }), Is.True);
    }

    [Test]
    public void A_umask_that_would_narrow_a_folder_does_not()
    {
        string own = Path.Combine(_base, "x", "own");
        using (Umask.Set(0x0BF)) // 0277: mkdir alone would give 0500, which even its owner cannot write into
        {
            PrivateDirectory.EnsureOwn(own, "set it elsewhere");
        }

        Assert.That(File.GetUnixFileMode(own), Is.EqualTo(Rwx));
        Assert.That(File.GetUnixFileMode(Path.GetDirectoryName(own)!), Is.EqualTo(Rwx), "the missing parent too");
    }

    [Test]
    public void A_folder_of_ours_that_others_may_read_is_narrowed_with_a_warning()
    {
        string own = Path.Combine(_base, "wide");
        Directory.CreateDirectory(own);
        File.SetUnixFileMode(own, Rwx | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var error = new StringWriter();
        var stderr = Console.Error;
        Console.SetError(error);
        try
        {
            PrivateDirectory.EnsureOwn(own, "set it elsewhere");
        }
        finally
        {
            Console.SetError(stderr);
        }

        Assert.That(File.GetUnixFileMode(own), Is.EqualTo(Rwx));
        Assert.That(error.ToString(), Is.EqualTo($"unjucks: warning: folder '{own}' was mode 0755, open to other users; narrowed it to 0700.{Environment.NewLine}"));
    }

    [Test]
    public void A_folder_the_caller_named_that_others_may_write_is_refused_and_left_as_it_is()
    {
        string given = Path.Combine(_base, "shared");
        Directory.CreateDirectory(given);
        File.SetUnixFileMode(given, Rwx | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute);

        var e = Assert.Throws<UnauthorizedAccessException>(() => SharedRegion.CreateOrOpen("r", new SharedRegionOptions { Directory = given }));

        Assert.That(e!.Message, Does.Contain($"Folder '{given}' is writable by group or others (mode 0770)").And.Contain($"chmod 700 {given}"));
        Assert.That(File.GetUnixFileMode(given), Is.EqualTo(Rwx | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute), "the caller's folder is not changed");
        Assert.That(Directory.GetFileSystemEntries(given), Is.Empty, "nothing was created in it");
    }

    [Test]
    public void A_symbolic_link_in_place_of_the_folder_is_refused()
    {
        string target = Path.Combine(_base, "target");
        Directory.CreateDirectory(target, Rwx);
        string link = Path.Combine(_base, "link");
        Directory.CreateSymbolicLink(link, target);

        var own = Assert.Throws<UnauthorizedAccessException>(() => PrivateDirectory.EnsureOwn(link, "set SharedRegionOptions.Directory"));
        var given = Assert.Throws<UnauthorizedAccessException>(() => SharedRegion.CreateOrOpen("r", new SharedRegionOptions { Directory = link }));

        Assert.That(own!.Message, Is.EqualTo($"'{link}' is a symbolic link, not a folder; another user could point it anywhere. Remove the link, or set SharedRegionOptions.Directory."));
        Assert.That(given!.Message, Does.Contain("is a symbolic link").And.Contain("SharedRegionOptions.Directory or UNJUCKS_REGION_DIR"));
        Assert.That(Directory.GetFileSystemEntries(target), Is.Empty, "nothing was created through the link");
    }

    [Test]
    public void A_file_in_place_of_the_folder_is_refused()
    {
        string file = Path.Combine(_base, "file");
        File.WriteAllText(file, "x");

        var e = Assert.Throws<UnauthorizedAccessException>(() => PrivateDirectory.EnsureOwn(file, "set X"));

        Assert.That(e!.Message, Is.EqualTo($"'{file}' is not a folder. Remove it, or set X."));
    }

    [Test]
    public void Another_users_folder_is_refused_naming_its_owner()
    {
        if (LibC.GetEuid() != 0)
        {
            Assert.Ignore("Needs root: only root can give a folder to another user (chown).");
        }

        string foreign = Path.Combine(_base, "foreign");
        Directory.CreateDirectory(foreign, Rwx);
        Chown(foreign, 65534);

        var own = Assert.Throws<UnauthorizedAccessException>(() => PrivateDirectory.EnsureOwn(foreign, "set SharedRegionOptions.Directory or UNJUCKS_REGION_DIR to a folder of your own"));
        var given = Assert.Throws<UnauthorizedAccessException>(() => SharedRegion.CreateOrOpen("r", new SharedRegionOptions { Directory = foreign }));

        Assert.That(own!.Message, Does.StartWith($"Folder '{foreign}' belongs to uid 65534").And.Contain("not to you (uid 0").And.EndWith("set SharedRegionOptions.Directory or UNJUCKS_REGION_DIR to a folder of your own."));
        Assert.That(given!.Message, Does.Contain("belongs to uid 65534"));
        Assert.That(File.GetUnixFileMode(foreign), Is.EqualTo(Rwx), "another user's folder is not changed");
        Assert.That(Directory.GetFileSystemEntries(foreign), Is.Empty);
    }

    [Test]
    public void The_region_folder_variable_replaces_the_default_root()
    {
        string root = Path.Combine(_base, "from-env");
        string? before = Environment.GetEnvironmentVariable(PrivateDirectory.RootVariable);
        Environment.SetEnvironmentVariable(PrivateDirectory.RootVariable, root);
        try
        {
            Assert.That(SharedRegionOptions.DefaultDirectory, Is.EqualTo(root));
            using (var region = SharedRegion.CreateOrOpen("r", new SharedRegionOptions { StateSlots = 16, QueueCapacity = 2, MaxQueues = 1 }))
            {
                Assert.That(Path.GetDirectoryName(region.FilePath), Is.EqualTo(root));
            }

            Assert.That(File.GetUnixFileMode(root), Is.EqualTo(Rwx));
            Assert.That(SharedRegion.Delete("r"), Is.True);
        }
        finally
        {
            Environment.SetEnvironmentVariable(PrivateDirectory.RootVariable, before);
        }
    }

    private static void Chown(string path, int uid)
    {
        using var chown = Process.Start(new ProcessStartInfo("chown", [$"{uid}:{uid}", path]) { RedirectStandardError = true })!;
        chown.WaitForExit(10_000);
        Assert.That(chown.ExitCode, Is.Zero, chown.StandardError.ReadToEnd());
    }
}
