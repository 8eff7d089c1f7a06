using System.Reflection;

namespace Unjucks.Templates;

/// <summary>Where <see cref="SampleTree.ExtractTo"/> put the samples.</summary>
/// <param name="TemplatesDirectory">The template root (pass it to discovery).</param>
/// <param name="VariablesFile">The global variables file (<c>vars.json</c>; load it with <see cref="TemplateValues.LoadFile"/>).</param>
/// <param name="FileCount">Files written.</param>
public sealed record SampleLocation(string TemplatesDirectory, string VariablesFile, int FileCount);

/// <summary>
/// The bundled sample tree (<c>samples/templates/**</c> and <c>samples/vars.json</c> of the repository,
/// embedded in this assembly under logical names <c>samples/&lt;relative path&gt;</c>): the main job's
/// default workload. At least 200 templates across several directories, with dependency chains and fan-in;
/// every one renders, in strict mode too.
/// </summary>
public static class SampleTree
{
    /// <summary>The prefix of the embedded resources' logical names.</summary>
    public const string ResourcePrefix = "samples/";

    private static readonly Assembly Assembly = typeof(SampleTree).Assembly;

    /// <summary>The embedded files, as paths relative to the samples folder ('/'-separated), sorted.</summary>
    public static IReadOnlyList<string> Files { get; } = Assembly.GetManifestResourceNames()
        .Select(n => n.Replace('\\', '/'))
        .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal))
        .Select(n => n[ResourcePrefix.Length..])
        .Order(StringComparer.Ordinal)
        .ToList();

    /// <summary>
    /// Writes the sample tree under <paramref name="directory"/> (<c>templates/...</c> and <c>vars.json</c>),
    /// creating it if needed and overwriting files of the same names.
    /// </summary>
    /// <param name="directory">The destination (for example a fresh temporary directory).</param>
    /// <returns>Where the templates and the variables file are.</returns>
    /// <exception cref="InvalidOperationException">The assembly was built without the samples.</exception>
    public static SampleLocation ExtractTo(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (Files.Count == 0)
        {
            throw new InvalidOperationException("Unjucks.Templates was built without the embedded samples (samples/templates/** and samples/vars.json); rebuild it from the repository.");
        }

        var root = Path.GetFullPath(directory);
        var names = Assembly.GetManifestResourceNames().ToDictionary(n => n.Replace('\\', '/'), n => n, StringComparer.Ordinal);
        foreach (var file in Files)
        {
            var target = Path.GetFullPath(Path.Combine(root, file));
            if (!target.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"embedded sample '{file}' would extract outside '{root}'; the assembly is corrupt.");
            }

            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            using var input = Assembly.GetManifestResourceStream(names[ResourcePrefix + file])!;
            using var output = new FileStream(target, FileMode.Create, FileAccess.Write);
            input.CopyTo(output);
        }

        return new SampleLocation(Path.Combine(root, "templates"), Path.Combine(root, "vars.json"), Files.Count);
    }
}
