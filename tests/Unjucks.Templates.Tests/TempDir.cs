namespace Unjucks.Templates.Tests;

/// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "unjucks-templates-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes a template file at <paramref name="relative"/> under <paramref name="root"/>.</summary>
    public static void Write(string root, string relative, string text)
    {
        var full = System.IO.Path.Combine(root, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, text);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
            // The shared parent too, once the last test's folder is gone (another running test keeps it).
            Directory.Delete(System.IO.Path.GetDirectoryName(Path)!, recursive: false);
        }
        catch (IOException)
        {
        }
    }
}
