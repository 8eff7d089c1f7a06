namespace Unjucks.Templates.Tests;

/// <summary>One render job per output folder: a held folder is refused before anything renders, with the holder's
/// pid; the lock file is gone after a job; no template may write over it.</summary>
public sealed class OutputFolderLockTests
{
    [Test]
    public async Task A_job_into_a_held_folder_fails_at_once_naming_the_holder()
    {
        using var dir = new TempDir();
        TempDir.Write(dir.Sub("t"), "a.liquid", "A\n");
        var output = dir.Sub("out");
        Directory.CreateDirectory(output);

        using (OutputFolderLock.Acquire(output))
        {
            var e = await Assert.ThrowsAsync<OutputFolderInUseException>(() =>
                RenderJob.RunAsync(new RenderJobOptions { TemplateDirectories = [dir.Sub("t")], OutputDirectory = output, Agents = 1 }));
            Assert.That(e!.HolderProcessId, Is.EqualTo(Environment.ProcessId));
            Assert.That(e.Message, Does.Contain($"(pid {Environment.ProcessId})"));
            Assert.That(File.Exists(Path.Combine(output, "a")), Is.False, "nothing rendered");
        }

        var report = await RenderJob.RunAsync(new RenderJobOptions { TemplateDirectories = [dir.Sub("t")], OutputDirectory = output, Agents = 1 });
        Assert.That(report.Rendered, Is.EqualTo(1), report.Describe());
        Assert.That(Directory.EnumerateFileSystemEntries(output).Select(Path.GetFileName), Is.EquivalentTo(new[] { "a" }), "the lock file is removed at the end");
    }

    [Test]
    public async Task A_template_cannot_write_the_lock_file()
    {
        using var dir = new TempDir();
        TempDir.Write(dir.Sub("t"), "sneaky.liquid", $"---\nto: ./{OutputFolderLock.FileName}\n---\nx\n");

        var report = await RenderJob.RunAsync(new RenderJobOptions { TemplateDirectories = [dir.Sub("t")], OutputDirectory = dir.Sub("out"), Agents = 1 });

        var failure = report.Failures.Single();
        Assert.That(failure.Error!.Kind, Is.EqualTo(TemplateErrorKind.OutputPath), report.Describe());
        Assert.That(failure.Error.Message, Does.Contain("lock file"));
    }
}
