namespace Unjucks.Templates.Tests;

public sealed class OutputWriterTests
{
    [TestCase("../x")]
    [TestCase("/etc/x")]
    [TestCase("a/../../x")]
    [TestCase("a/../b")]
    [TestCase("..")]
    [TestCase("~/x")]
    [TestCase("C:/x")]
    [TestCase("a\\..\\x")]
    [TestCase("")]
    [TestCase("  ")]
    [TestCase("dir/")]
    [TestCase("./")]
    [TestCase("a\0b")]
    public void Unsafe_output_paths_are_refused(string path)
    {
        var ex = Assert.Throws<TemplateException>(() => OutputPaths.Normalize("t", path));
        Assert.That(ex!.Kind, Is.EqualTo(TemplateErrorKind.OutputPath), ex.Message);
    }

    [TestCase("a/b.txt", "a/b.txt")]
    [TestCase("./a//b.txt", "a/b.txt")]
    [TestCase(" a/./b ", "a/b")]
    [TestCase("..a/b..", "..a/b..")]
    public void Safe_output_paths_are_normalised(string path, string expected)
    {
        Assert.That(OutputPaths.Normalize("t", path), Is.EqualTo(expected));
    }

    [Test]
    public void Symbolic_link_out_of_the_root_is_refused_and_nothing_is_written_outside()
    {
        using var dir = new TempDir();
        var outside = Directory.CreateDirectory(dir.Sub("outside")).FullName;
        var root = Directory.CreateDirectory(dir.Sub("out")).FullName;
        Directory.CreateSymbolicLink(Path.Combine(root, "escape"), outside);
        Directory.CreateDirectory(Path.Combine(root, "inside"));
        Directory.CreateSymbolicLink(Path.Combine(root, "alias"), Path.Combine(root, "inside"));
        var writer = new OutputWriter(root);

        var ex = Assert.Throws<TemplateException>(() => writer.Write("t", "escape/x.txt", "no"));
        writer.Write("u", "alias/y.txt", "yes");
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(TemplateErrorKind.OutputPath), ex.Message);
            Assert.That(Directory.EnumerateFileSystemEntries(outside), Is.Empty);
            Assert.That(File.ReadAllText(Path.Combine(root, "inside", "y.txt")), Is.EqualTo("yes"), "a link that stays inside is fine");
        });
    }

    [Test]
    public void Atomic_writes_leave_no_temporary_files_and_overwrite()
    {
        using var dir = new TempDir();
        var writer = new OutputWriter(dir.Sub("out"));
        const int Count = 200;
        Parallel.For(0, Count, i => writer.Write($"t{i}", $"d{i % 7}/f{i}.txt", $"content {i}"));
        File.WriteAllText(Path.Combine(dir.Sub("out"), "old.txt"), "old");
        writer.Write("old", "old.txt", "new");

        var files = Directory.EnumerateFiles(dir.Sub("out"), "*", SearchOption.AllDirectories).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(files, Has.Count.EqualTo(Count + 1));
            Assert.That(files.Where(f => f.EndsWith(".tmp", StringComparison.Ordinal)), Is.Empty);
            Assert.That(File.ReadAllText(Path.Combine(dir.Sub("out"), "d3", "f3.txt")), Is.EqualTo("content 3"));
            Assert.That(File.ReadAllText(Path.Combine(dir.Sub("out"), "old.txt")), Is.EqualTo("new"));
        });
    }

    [Test]
    public void Failed_write_is_typed_and_removes_its_temporary_file()
    {
        using var dir = new TempDir();
        var writer = new OutputWriter(dir.Sub("out"));
        Directory.CreateDirectory(Path.Combine(dir.Sub("out"), "taken.txt"));
        var ex = Assert.Throws<TemplateException>(() => writer.Write("t", "taken.txt", "x"));
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(TemplateErrorKind.Write), ex.Message);
            Assert.That(Directory.EnumerateFiles(dir.Sub("out"), "*", SearchOption.AllDirectories), Is.Empty);
        });
    }

    [Test]
    public void Two_templates_writing_one_path_conflict()
    {
        using var dir = new TempDir();
        var writer = new OutputWriter(dir.Sub("out"));
        writer.Write("first", "same.txt", "1");
        var ex = Assert.Throws<TemplateException>(() => writer.Write("second", "./same.txt", "2"));
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Kind, Is.EqualTo(TemplateErrorKind.OutputConflict));
            Assert.That(ex.Message, Does.Contain("'first'"));
            Assert.That(File.ReadAllText(Path.Combine(dir.Sub("out"), "same.txt")), Is.EqualTo("1"));
        });
    }
}
