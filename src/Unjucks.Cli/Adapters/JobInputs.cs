// JobInputs: what a job renders, resolved the same way in threads and processes mode: the request's template
// directories, or the bundled samples (SampleTree) extracted into a temporary folder that is deleted at dispose;
// global variables from --vars (JSON or YAML, TemplateValues.LoadFile) or, for the samples, their vars.json. The
// samples render in strict mode (they are written for it); a user's tree renders in Liquid's default (undefined
// values render as empty text).
using System.Globalization;
using Unjucks.Cli.Engine;
using Unjucks.Templates;

namespace Unjucks.Cli.Adapters;

/// <summary>The template roots, variables file and strictness of one job; owns the extracted samples.</summary>
internal sealed class JobInputs : IDisposable
{
    private readonly string? _samples;

    private JobInputs(IReadOnlyList<string> roots, string? variablesFile, bool strict, string? samples)
    {
        Roots = roots;
        VariablesFile = variablesFile;
        Strict = strict;
        _samples = samples;
    }

    public IReadOnlyList<string> Roots { get; }

    public string? VariablesFile { get; }

    public bool Strict { get; }

    public static JobInputs Resolve(JobRequest request)
    {
        if (!request.UsesBundledSamples)
        {
            return new JobInputs(request.TemplateDirectories, request.VariablesFile, strict: false, samples: null);
        }

        var samples = Path.Combine(Path.GetTempPath(), string.Create(CultureInfo.InvariantCulture,
            $"unjucks-perf-samples-{Environment.ProcessId}-{Guid.NewGuid():N}"));
        var location = SampleTree.ExtractTo(samples);
        return new JobInputs([location.TemplatesDirectory], request.VariablesFile ?? location.VariablesFile, strict: true, samples);
    }

    /// <summary>The global variables in <paramref name="file"/> (none when null).</summary>
    /// <exception cref="CliException">The file cannot be read or is not a map of names to values (exit 2).</exception>
    public static IReadOnlyDictionary<string, object?> LoadVariables(string? file)
    {
        if (file is null)
        {
            return new Dictionary<string, object?>(StringComparer.Ordinal);
        }

        try
        {
            return TemplateValues.LoadFile(file);
        }
        catch (InvalidDataException e)
        {
            throw new CliException($"cannot use the variables file: {e.Message} Fix the file (a JSON or YAML map of names to values) or leave out --vars.", ExitCodes.Usage);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read the variables file: {e.Message}", ExitCodes.Usage);
        }
    }

    public void Dispose()
    {
        if (_samples is null)
        {
            return;
        }

        try
        {
            Directory.Delete(_samples, recursive: true);
        }
        catch (IOException)
        {
            // A leftover copy of the samples under the temporary directory is not worth failing the job for.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }
}
