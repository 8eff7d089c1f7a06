using System.Text.RegularExpressions;

namespace Unjucks.Templates;

/// <summary>
/// The rules for output paths (the rendered <c>to:</c>): relative, '/'-separated, no <c>..</c> segment,
/// no backslash, no NUL, not empty. <see cref="OutputWriter"/> checks again on full paths after
/// normalisation and through symbolic links.
/// </summary>
public static partial class OutputPaths
{
    /// <summary>Validates and normalises an output path (drops empty and '.' segments).</summary>
    /// <param name="templateId">The template, for the error.</param>
    /// <param name="path">The rendered <c>to:</c> value.</param>
    /// <returns>The normalised relative path, e.g. <c>src/components/Button.tsx</c>.</returns>
    /// <exception cref="TemplateException">Kind <see cref="TemplateErrorKind.OutputPath"/>, saying which rule it broke.</exception>
    public static string Normalize(string templateId, string path)
    {
        var p = path.Trim();
        if (p.Length == 0)
        {
            throw Refuse(templateId, path, "it is empty");
        }

        if (p.Contains('\0'))
        {
            throw Refuse(templateId, path, "it contains a NUL character");
        }

        if (p.Contains('\\'))
        {
            throw Refuse(templateId, path, "it contains a backslash; use '/' as the separator");
        }

        if (p[0] == '/' || p[0] == '~' || Path.IsPathRooted(p) || DriveLetter().IsMatch(p))
        {
            throw Refuse(templateId, path, "it is absolute; give a path relative to the output directory");
        }

        var segments = p.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(s => s != ".").ToList();
        if (segments.Contains(".."))
        {
            throw Refuse(templateId, path, "it contains a '..' segment; outputs stay inside the output directory");
        }

        if (segments.Count == 0 || p.EndsWith('/'))
        {
            throw Refuse(templateId, path, "it names a directory, not a file");
        }

        if (segments is [OutputFolderLock.FileName])
        {
            throw Refuse(templateId, path, "it is the render job's lock file");
        }

        return string.Join('/', segments);
    }

    internal static TemplateException Refuse(string templateId, string path, string why) =>
        new(new TemplateError(TemplateErrorKind.OutputPath, templateId, $"output path '{path}' refused: {why}."));

    [GeneratedRegex(@"^[A-Za-z]:")]
    private static partial Regex DriveLetter();
}
