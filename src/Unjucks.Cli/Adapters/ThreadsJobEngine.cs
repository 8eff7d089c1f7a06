// ThreadsJobEngine: the IJobEngine for --mode threads. N agents are the N worker threads of one
// WorkStealingScheduler in the tool's own process; every (round, template) is one node of a DependencyGraph
// whose bodies run on that scheduler's TaskScheduler with at most N at once (ThreadsJob holds the details).
// Inputs: the request's template directories, or the bundled samples (SampleTree) extracted into a temporary
// folder that is deleted afterwards; global variables from --vars (JSON or YAML, TemplateValues.LoadFile) or,
// for the samples, their vars.json. The samples render in strict mode (they are written for it); a user's tree
// renders in Liquid's default (undefined values render as empty text).
using System.Diagnostics;
using System.Globalization;
using Unjucks.Cli.Engine;
using Unjucks.Templates;

namespace Unjucks.Cli.Adapters;

/// <summary>Runs template jobs with agents as threads of this process.</summary>
internal sealed class ThreadsJobEngine : IJobEngine
{
    public async Task<JobSummary> RunAsync(JobRequest request, IProgress<JobSnapshot>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Mode != EngineMode.Threads)
        {
            throw new ArgumentException($"the threads engine got a request for mode {request.Mode}; route it by mode (EngineSelector).", nameof(request));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(request.Agents, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(request.Repeat, 1);

        long started = Stopwatch.GetTimestamp();
        string? samples = null;
        try
        {
            IReadOnlyList<string> roots = request.TemplateDirectories;
            var variablesFile = request.VariablesFile;
            var strict = false;
            if (request.UsesBundledSamples)
            {
                samples = Path.Combine(Path.GetTempPath(), string.Create(CultureInfo.InvariantCulture,
                    $"unjucks-perf-samples-{Environment.ProcessId}-{Guid.NewGuid():N}"));
                var location = SampleTree.ExtractTo(samples);
                roots = [location.TemplatesDirectory];
                variablesFile ??= location.VariablesFile;
                strict = true;
            }

            var globals = LoadVariables(variablesFile);
            var job = new ThreadsJob(request, roots, globals, strict, progress, started);
            return await job.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (samples is not null)
            {
                TryDelete(samples);
            }
        }
    }

    private static IReadOnlyDictionary<string, object?> LoadVariables(string? file)
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
            throw new CliException($"cannot use the variables file: {e.Message} Fix the file (a JSON or YAML map of names to values) or leave out --vars.");
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
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
