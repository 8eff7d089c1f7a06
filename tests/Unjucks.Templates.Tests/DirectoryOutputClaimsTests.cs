namespace Unjucks.Templates.Tests;

/// <summary>
/// Output claims shared through a directory: one winner per path whatever the number of claimers, a template
/// may claim its own path again, writers that share the directory see each other's claims, and a damaged claim
/// file is reported with what to do.
/// </summary>
public sealed class DirectoryOutputClaimsTests
{
    [TestCase(0x000u, TestName = "claims under umask 000")]
    [TestCase(0x002u, TestName = "claims under umask 002")]
    [TestCase(0x012u, TestName = "claims under umask 022")]
    [TestCase(0x03Fu, TestName = "claims under umask 077")]
    [NonParallelizable] // the umask is the whole process's
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void The_claims_directory_every_parent_it_creates_and_every_claim_are_private_whatever_the_umask(uint mask)
    {
        using var dir = new TempDir();
        string parent = dir.Sub("region-folder");
        DirectoryOutputClaims claims;
        using (Unjucks.TestSupport.Umask.Set(mask))
        {
            claims = new DirectoryOutputClaims(Path.Combine(parent, "claims-1"));
            claims.Claim("/out/a.txt", "a");
            claims.Claim("/out/b.txt", "b");
        }

        const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        Assert.Multiple(() =>
        {
            Assert.That(File.GetUnixFileMode(claims.Directory), Is.EqualTo(Private));
            Assert.That(File.GetUnixFileMode(parent), Is.EqualTo(Private), "a parent created on the way (the default region folder) must not be readable by others");
            Assert.That(Directory.GetFiles(claims.Directory).Select(File.GetUnixFileMode).ToList(), Has.Count.EqualTo(2).And.All.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite),
                "claim files name what a job renders: 0600");
        });
    }

    [Test]
    public void The_first_claim_wins_and_a_template_may_claim_its_own_path_again()
    {
        using var dir = new TempDir();
        var a = new DirectoryOutputClaims(dir.Sub("claims"));
        var b = new DirectoryOutputClaims(dir.Sub("claims")); // another process of the job
        Assert.Multiple(() =>
        {
            Assert.That(a.Claim("/out/x.txt", "one"), Is.EqualTo("one"));
            Assert.That(b.Claim("/out/x.txt", "two"), Is.EqualTo("one"), "the second template must see the first one's claim");
            Assert.That(b.Claim("/out/x.txt", "one"), Is.EqualTo("one"), "a retried task claims its own path again");
            Assert.That(new DirectoryOutputClaims(dir.Sub("claims")).Claim("/out/x.txt", "one"), Is.EqualTo("one"));
            Assert.That(b.Claim("/out/y.txt", "two"), Is.EqualTo("two"), "another path is free");
            Assert.That(Directory.GetFiles(dir.Sub("claims"), "*.claim"), Has.Length.EqualTo(2));
            Assert.That(Directory.GetFiles(dir.Sub("claims"), "*.tmp"), Is.Empty, "temporary claim files left behind");
        });
    }

    [Test]
    [Repeat(20)]
    public void Racing_claimers_agree_on_exactly_one_owner()
    {
        using var dir = new TempDir();
        const int claimers = 8;
        var owners = new string[claimers];
        using var start = new Barrier(claimers);
        var threads = Enumerable.Range(0, claimers).Select(i => new Thread(() =>
        {
            var claims = new DirectoryOutputClaims(dir.Sub("claims")); // one instance each, as separate processes would have
            start.SignalAndWait();
            owners[i] = claims.Claim("/out/contended.txt", $"template-{i}");
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.That(t.Join(TimeSpan.FromSeconds(60)), Is.True, "a claimer hung"));

        Assert.Multiple(() =>
        {
            Assert.That(owners.Distinct().ToList(), Has.Count.EqualTo(1), $"claimers disagree: {string.Join(", ", owners)}");
            Assert.That(owners[0], Does.StartWith("template-"));
            Assert.That(Directory.GetFiles(dir.Sub("claims"), "*.claim"), Has.Length.EqualTo(1));
            Assert.That(Directory.GetFiles(dir.Sub("claims"), "*.tmp"), Is.Empty, "temporary claim files left behind");
        });
    }

    [Test]
    public void Writers_sharing_a_claims_directory_report_a_conflict_and_keep_the_first_output()
    {
        using var dir = new TempDir();
        var first = new OutputWriter(dir.Sub("out"), durable: false, new DirectoryOutputClaims(dir.Sub("claims")));
        var second = new OutputWriter(dir.Sub("out"), durable: false, new DirectoryOutputClaims(dir.Sub("claims")));
        first.Write("a", "same.txt", "from a");
        var ex = Assert.Throws<TemplateException>(() => second.Write("b", "same.txt", "from b"));
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(TemplateErrorKind.OutputConflict));
            Assert.That(ex.Message, Does.Contain("'a'"), "the report names the template that has the path");
            Assert.That(File.ReadAllText(Path.Combine(dir.Sub("out"), "same.txt")), Is.EqualTo("from a"), "the conflicting write must not replace the file");
        });
        second.Write("a", "same.txt", "from a again"); // the owner's retry on another writer is allowed
        Assert.That(File.ReadAllText(Path.Combine(dir.Sub("out"), "same.txt")), Is.EqualTo("from a again"));
    }

    [Test]
    public void A_damaged_claim_file_is_a_write_error_that_says_what_to_do()
    {
        using var dir = new TempDir();
        var claims = new DirectoryOutputClaims(dir.Sub("claims"));
        var writer = new OutputWriter(dir.Sub("out"), durable: false, claims);
        writer.Write("a", "x.txt", "x");
        var claimFile = Directory.GetFiles(dir.Sub("claims"), "*.claim").Single();
        File.WriteAllText(claimFile, "garbage without a path");

        var other = new OutputWriter(dir.Sub("out"), durable: false, new DirectoryOutputClaims(dir.Sub("claims")));
        var ex = Assert.Throws<TemplateException>(() => other.Write("b", "x.txt", "y"));
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(TemplateErrorKind.Write));
            Assert.That(ex.Message, Does.Contain("damaged").And.Contain("Delete it and run the job again"));
            Assert.That(File.ReadAllText(Path.Combine(dir.Sub("out"), "x.txt")), Is.EqualTo("x"));
        });
    }

    [Test]
    public void DeleteDirectory_removes_every_claim()
    {
        using var dir = new TempDir();
        var claims = new DirectoryOutputClaims(dir.Sub("claims"));
        claims.Claim("/out/a", "a");
        Assert.That(claims.DeleteDirectory(), Is.True);
        Assert.That(Directory.Exists(dir.Sub("claims")), Is.False);
        Assert.That(claims.DeleteDirectory(), Is.True, "deleting twice is fine");
    }

    [Test]
    public void Bad_arguments_are_refused()
    {
        Assert.Throws<ArgumentException>(() => _ = new DirectoryOutputClaims(" "));
        using var dir = new TempDir();
        var claims = new DirectoryOutputClaims(dir.Sub("claims"));
        Assert.Throws<ArgumentNullException>(() => claims.Claim(null!, "a"));
        Assert.Throws<ArgumentNullException>(() => claims.Claim("/x", null!));
    }
}
