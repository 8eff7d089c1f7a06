// ProcessesTemplateHandler: the task handler of an agent process in processes mode (unjucks-perf agent ...).
//
// At start-up the agent discovers the same template directories as the coordinator (once) and loads the same
// global variables. A task's payload names (round, template index, id hash) (ProcessesTaskCodec). The task:
//   1. gathers its dependencies: each dependency is Done in this round before the coordinator submits the task
//      (the dependency graph runs on the coordinator), so its output file exists; the content is read from that
//      file (round folder, the dependency's output path), exactly what the dependency's agent wrote;
//      the dependency's output path and variables come from a per-process memo: a template's rendered `to:` is a
//      function of the tree and the globals, identical in every round, so the memo holds it from the first time
//      this agent rendered that template (as a task, or here: a dependency this agent has not rendered yet is
//      rendered once, in memory, from its own dependencies' files, only to learn its output path);
//   2. renders with TemplateRenderer.RenderOne (one renderer per process: every template is parsed once per agent, at
//      start-up, before the agent registers: see ParseAll);
//   3. writes atomically with the round's OutputWriter (temporary file, rename), after claiming the output path in
//      the job's claims directory (DirectoryOutputClaims, shared by every agent), so two templates that render the
//      same `to:` on different agents are reported as an OutputConflict instead of one overwriting the other;
//   4. returns the agent index and the parse/render/write split (ProcessesTaskCodec.EncodeResult).
// A template error is thrown as TemplateTaskException (the engine records its message, the job continues).
// Called by one agent loop thread at a time; the memos are concurrent anyway (cheap, and safe if that changes).
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Unjucks.Agents.Processes;
using Unjucks.Templates;

namespace Unjucks.Cli.Adapters;

/// <summary>Renders template tasks inside an agent process.</summary>
internal sealed class ProcessesTemplateHandler : ITaskHandler
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private readonly IReadOnlyList<TemplateSource> _templates;
    private readonly Dictionary<string, TemplateSource> _byId;
    private readonly IReadOnlyDictionary<string, object?> _globals;
    private readonly TemplateRenderer _renderer;
    private readonly string _outputDirectory;
    private readonly int _rounds;
    private readonly IOutputClaims? _claims;
    private readonly ConcurrentDictionary<int, OutputWriter> _writers = new();
    private readonly ConcurrentDictionary<string, RenderedTemplate> _known = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _parsed = new(StringComparer.Ordinal);

    private ProcessesTemplateHandler(DiscoveryResult discovery, IReadOnlyDictionary<string, object?> globals, bool strict, string outputDirectory, int rounds, string? claimsDirectory)
    {
        _claims = claimsDirectory is null ? null : new DirectoryOutputClaims(claimsDirectory);
        _templates = discovery.Templates;
        _byId = discovery.Templates.ToDictionary(t => t.Id, StringComparer.Ordinal);
        _globals = globals;
        _renderer = new TemplateRenderer(strict);
        _outputDirectory = outputDirectory;
        _rounds = rounds;
    }

    /// <summary>Templates this agent discovered.</summary>
    public int TemplateCount => _templates.Count;

    /// <summary>Discovers the tree and loads the variables: once per agent process. <paramref name="claimsDirectory"/> is the
    /// job's shared claims directory (null: claims in this agent's memory only, so conflicts across agents go unseen).</summary>
    public static async Task<ProcessesTemplateHandler> CreateAsync(
        IReadOnlyList<string> roots, string outputDirectory, string? variablesFile, bool strict, int rounds, string? claimsDirectory, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        var globals = JobInputs.LoadVariables(variablesFile);
        var discovery = await TemplateDiscovery.DiscoverAsync(roots, TemplateDiscovery.DefaultMaxConcurrency, cancellationToken).ConfigureAwait(false);
        var handler = new ProcessesTemplateHandler(discovery, globals, strict, outputDirectory, rounds, claimsDirectory);
        handler.ParseAll();
        return handler;
    }

    /// <summary>
    /// Parses every template before the agent registers (its start-up, outside the job's render phase): the parse
    /// cache then serves every task, and a parse error is cached and reported by the template's task. The parse time
    /// is still reported, once per template, by the first task of that template this agent runs.
    /// </summary>
    private void ParseAll()
    {
        foreach (var template in _templates)
        {
            try
            {
                _renderer.Parse(template);
            }
            catch (TemplateException)
            {
                // Cached by the renderer; the template's task reports it.
            }
        }
    }

    public ValueTask<long> ExecuteAsync(TaskContext context, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var (round, index, hash) = ProcessesTaskCodec.DecodePayload(context.Payload.Span);
        if ((uint)round >= (uint)_rounds)
        {
            throw new InvalidDataException($"task {context.TaskId} names round {round}, but this agent was started for {_rounds} round(s).");
        }

        if ((uint)index >= (uint)_templates.Count || ProcessesTaskCodec.IdHash(_templates[index].Id) != hash)
        {
            throw new InvalidDataException(
                $"task {context.TaskId} names template #{index}, which is not the template the coordinator discovered at that position (this agent found {_templates.Count}); the template tree changed while the job was starting. Run the job again.");
        }

        var template = _templates[index];
        try
        {
            long start = Stopwatch.GetTimestamp();
            var writer = Writer(round);
            var dependencies = Dependencies(template, writer);
            var rendered = _renderer.RenderOne(template, dependencies, _globals);
            var render = Stopwatch.GetElapsedTime(start);
            var write = writer.Write(rendered);
            _known.TryAdd(template.Id, rendered with { Content = string.Empty });
            // Parsed at start-up (ParseAll): the first task of each template in this agent reports its parse time.
            var parse = _parsed.TryAdd(template.Id, 0) ? rendered.Timings.Parse : TimeSpan.Zero;
            return ValueTask.FromResult(ProcessesTaskCodec.EncodeResult(context.AgentIndex, parse, render, write));
        }
        catch (TemplateException e)
        {
            throw new TemplateTaskException(e.Error, e);
        }
    }

    private OutputWriter Writer(int round) =>
        _writers.GetOrAdd(round, static (r, self) => new OutputWriter(JobSettings.RoundDirectory(self._outputDirectory, r, self._rounds), durable: false, self._claims), this);

    /// <summary>Every dependency of <paramref name="template"/> as written in this round: content from its file, path and variables from the memo.</summary>
    private Dictionary<string, RenderedTemplate> Dependencies(TemplateSource template, OutputWriter writer)
    {
        var dependencies = new Dictionary<string, RenderedTemplate>(template.FrontMatter.DependsOn.Count, StringComparer.Ordinal);
        foreach (var id in template.FrontMatter.DependsOn)
        {
            var known = Known(id, writer);
            var path = writer.ResolveFullPath(id, known.OutputPath);
            string content;
            try
            {
                content = Utf8.GetString(File.ReadAllBytes(path));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new TemplateException(new TemplateError(TemplateErrorKind.Render, template.Id,
                    $"cannot read the output of its dependency '{id}' ({path}): {e.Message}. Something removed or changed the output folder while the job ran."), e);
            }

            dependencies.Add(id, known with { Content = content });
        }

        return dependencies;
    }

    /// <summary>The output path and variables of <paramref name="id"/> (content empty): memoised, rendered in memory the first time.</summary>
    private RenderedTemplate Known(string id, OutputWriter writer)
    {
        if (_known.TryGetValue(id, out var known))
        {
            return known;
        }

        if (!_byId.TryGetValue(id, out var source))
        {
            throw new InvalidDataException($"dependency '{id}' is not a template this agent discovered; the template tree changed while the job was starting. Run the job again.");
        }

        // The dependency is Done in this round, and so are its own dependencies (transitively): their files exist.
        var rendered = _renderer.RenderOne(source, Dependencies(source, writer), _globals);
        return _known.GetOrAdd(id, rendered with { Content = string.Empty });
    }
}
