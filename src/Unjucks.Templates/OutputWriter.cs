using System.Diagnostics;
using System.Text;
using CommunityToolkit.HighPerformance.Buffers;

namespace Unjucks.Templates;

/// <summary>
/// Writes rendered templates under one output directory, atomically: the text goes to a temporary file
/// (<c>.&lt;name&gt;.&lt;random&gt;.tmp</c>) in the target's own directory, which is then renamed over the
/// target (<see cref="File.Move(string, string, bool)"/>, a rename(2) on one file system), so a reader sees
/// the old file or the new one, never half of one; the temporary file is deleted on failure.
/// Paths are validated by <see cref="OutputPaths.Normalize"/>, then again as full paths after
/// normalisation, and every existing directory on the way that is a symbolic link must resolve inside the
/// output directory. (The check and the write are not one atomic step: someone who can change the output
/// tree while the job runs can still race it; the output directory is assumed to be the job's own.)
/// Thread-safe. Two templates may not write the same path: the first claim wins and the second gets
/// <see cref="TemplateErrorKind.OutputConflict"/>. Claims live in this writer's memory by default; writers in
/// several processes of one job share a <see cref="DirectoryOutputClaims"/> instead.
/// </summary>
public sealed class OutputWriter
{
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);
    private readonly IOutputClaims _claims;
    private readonly string _rootWithSeparator;
    private readonly string _realRootWithSeparator;

    /// <summary>Creates a writer for <paramref name="outputDirectory"/> (created if missing).</summary>
    /// <param name="outputDirectory">The output root.</param>
    /// <param name="durable">Also flush each file to the disk (fsync) before the rename; slower, survives power loss.</param>
    public OutputWriter(string outputDirectory, bool durable = false)
        : this(outputDirectory, durable, null)
    {
    }

    /// <summary>Creates a writer for <paramref name="outputDirectory"/> (created if missing) whose output paths are
    /// claimed through <paramref name="claims"/>.</summary>
    /// <param name="outputDirectory">The output root.</param>
    /// <param name="durable">Also flush each file to the disk (fsync) before the rename.</param>
    /// <param name="claims">Where claims are recorded; null for this writer's memory (<see cref="InMemoryOutputClaims"/>).</param>
    public OutputWriter(string outputDirectory, bool durable, IOutputClaims? claims)
    {
        _claims = claims ?? new InMemoryOutputClaims();
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        Root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(outputDirectory));
        Directory.CreateDirectory(Root);
        Durable = durable;
        _rootWithSeparator = Root + Path.DirectorySeparatorChar;
        var real = new DirectoryInfo(Root).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Root;
        _realRootWithSeparator = Path.TrimEndingDirectorySeparator(real) + Path.DirectorySeparatorChar;
    }

    /// <summary>
    /// Whether <paramref name="fileName"/> (a name, not a path) has the form of this writer's temporary files
    /// (<c>.&lt;name&gt;.&lt;32 hex digits&gt;.tmp</c>). A writer killed between creating one and the rename leaves it
    /// behind; an engine that recovers from killed writers removes such files once the job is over.
    /// </summary>
    /// <param name="fileName">A file name.</param>
    /// <returns>True for a temporary file name.</returns>
    public static bool IsTemporaryFileName(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        const int Hex = 32;
        const string Suffix = ".tmp";
        if (fileName.Length < 1 + 1 + 1 + Hex + Suffix.Length || fileName[0] != '.' || !fileName.EndsWith(Suffix, StringComparison.Ordinal))
        {
            return false;
        }

        var guid = fileName.AsSpan(fileName.Length - Suffix.Length - Hex, Hex);
        return fileName[fileName.Length - Suffix.Length - Hex - 1] == '.' && guid.IndexOfAnyExcept("0123456789abcdef") < 0;
    }

    /// <summary>The output directory (full path, no trailing separator).</summary>
    public string Root { get; }

    /// <summary>Whether files are flushed to the disk before the rename.</summary>
    public bool Durable { get; }

    /// <summary>The full path <paramref name="relativePath"/> would be written to, after every check.</summary>
    /// <param name="templateId">The template, for errors.</param>
    /// <param name="relativePath">An output path (validated again here).</param>
    /// <returns>The full path inside <see cref="Root"/>.</returns>
    /// <exception cref="TemplateException">Kind <see cref="TemplateErrorKind.OutputPath"/>.</exception>
    public string ResolveFullPath(string templateId, string relativePath)
    {
        var normalized = OutputPaths.Normalize(templateId, relativePath);
        var full = Path.GetFullPath(Path.Combine(Root, normalized));
        if (!full.StartsWith(_rootWithSeparator, StringComparison.Ordinal))
        {
            throw OutputPaths.Refuse(templateId, relativePath, $"it resolves to '{full}', outside the output directory '{Root}'");
        }

        CheckLinks(templateId, relativePath, full);
        return full;
    }

    /// <summary>Writes <paramref name="template"/>'s content to its output path, atomically.</summary>
    /// <param name="template">The rendered template.</param>
    /// <returns>The time spent writing.</returns>
    /// <exception cref="TemplateException">Kinds <see cref="TemplateErrorKind.OutputPath"/>,
    /// <see cref="TemplateErrorKind.OutputConflict"/> or <see cref="TemplateErrorKind.Write"/>.</exception>
    public TimeSpan Write(RenderedTemplate template)
    {
        ArgumentNullException.ThrowIfNull(template);
        return Write(template.Id, template.OutputPath, template.Content);
    }

    /// <summary>Writes <paramref name="content"/> to <paramref name="relativePath"/>, atomically.</summary>
    /// <param name="templateId">The template that produced it (claims the path).</param>
    /// <param name="relativePath">The output path.</param>
    /// <param name="content">The text, written as UTF-8 without a byte order mark.</param>
    /// <returns>The time spent writing.</returns>
    /// <exception cref="TemplateException">Kinds <see cref="TemplateErrorKind.OutputPath"/>,
    /// <see cref="TemplateErrorKind.OutputConflict"/> or <see cref="TemplateErrorKind.Write"/>.</exception>
    public TimeSpan Write(string templateId, string relativePath, string content)
    {
        long start = Stopwatch.GetTimestamp();
        var full = ResolveFullPath(templateId, relativePath);
        string owner;
        try
        {
            owner = _claims.Claim(full, templateId);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TemplateException(new TemplateError(TemplateErrorKind.Write, templateId,
                $"claiming the output path '{relativePath}' failed: {e.Message}"), e);
        }

        if (owner != templateId)
        {
            throw new TemplateException(new TemplateError(TemplateErrorKind.OutputConflict, templateId,
                $"output path '{relativePath}' is already written by template '{owner}'; give one of them another 'to:'."));
        }

        var dir = Path.GetDirectoryName(full)!;
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(dir);
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1, FileOptions.None))
            {
                // Encode into a pooled buffer: thousands of outputs per job would otherwise each allocate a
                // byte[] as large as the file (large ones on the LOH).
                using var buffer = new ArrayPoolBufferWriter<byte>(Math.Max(1, Utf8NoBom.GetMaxByteCount(content.Length)));
                buffer.Advance(Utf8NoBom.GetBytes(content, buffer.GetSpan(Utf8NoBom.GetMaxByteCount(content.Length))));
                stream.Write(buffer.WrittenSpan);
                stream.Flush(flushToDisk: Durable);
            }

            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new TemplateException(new TemplateError(TemplateErrorKind.Write, templateId,
                $"writing '{full}' failed: {e.Message}. Check that the output directory is writable and that no directory has the file's name."), e);
        }

        return Stopwatch.GetElapsedTime(start);
    }

    private void CheckLinks(string templateId, string relativePath, string full)
    {
        // Walk the existing directories between the root and the file; a symbolic link among them must
        // resolve inside the output directory. The file itself may be a link: the rename replaces the link.
        var dir = Path.GetDirectoryName(full)!;
        var rel = Path.GetRelativePath(Root, dir);
        if (rel == ".")
        {
            return;
        }

        var current = Root;
        foreach (var segment in rel.Split(Path.DirectorySeparatorChar))
        {
            current = Path.Combine(current, segment);
            var info = new DirectoryInfo(current);
            if (!info.Exists && info.LinkTarget is null)
            {
                return; // Nothing further exists yet; CreateDirectory makes real directories.
            }

            if (info.LinkTarget is not null)
            {
                var target = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.LinkTarget;
                var targetWithSeparator = Path.TrimEndingDirectorySeparator(Path.GetFullPath(target, Path.GetDirectoryName(current)!)) + Path.DirectorySeparatorChar;
                if (!targetWithSeparator.StartsWith(_rootWithSeparator, StringComparison.Ordinal)
                    && !targetWithSeparator.StartsWith(_realRootWithSeparator, StringComparison.Ordinal))
                {
                    throw OutputPaths.Refuse(templateId, relativePath, $"'{current}' is a symbolic link to '{target}', outside the output directory");
                }
            }
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the original error is more useful than this one.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }
}
