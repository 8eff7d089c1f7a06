// The agent side of a render job: one handler per agent (process or thread), built once from the session data.
// A task (round, template):
//   1. its dependencies' results arrive with it (in dependsOn order): a failed one fails this task as
//      DependencyFailed, naming it; a rendered one gives its output path, and its content is read back from the
//      file the dependency's agent wrote (round folder + that path): nothing is rendered twice;
//   2. renders with the agent's TemplateRenderer (each template parsed once per agent process, on first use; thread
//      agents share one handler, so once per job; limits on nesting, time, output size and loop steps make a hostile
//      template that template's error);
//   3. writes atomically (temporary file, rename) after claiming the output path in the job's claims folder;
//   4. returns a result record (RenderTaskCodec), success or failure: it never throws for a template's fault.
// Every exception becomes a failure record of the template, so no template can end the agent.
using System.Collections.Concurrent;
using System.Text;
using Unjucks.Agents;

namespace Unjucks.Templates.Jobs;

internal sealed class RenderAgent
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly RenderJobData _data;
    private readonly Dictionary<string, int> _index;
    private readonly TemplateRenderer _renderer;
    private readonly DirectoryOutputClaims _claims;
    private readonly ConcurrentDictionary<int, OutputWriter> _writers = new();
    private readonly ConcurrentDictionary<string, byte> _parsed = new(StringComparer.Ordinal);

    internal RenderAgent(RenderJobData data)
    {
        _data = data;
        _index = new Dictionary<string, int>(data.Templates.Count, StringComparer.Ordinal);
        for (int i = 0; i < data.Templates.Count; i++)
        {
            _index[data.Templates[i].Id] = i;
        }

        _renderer = new TemplateRenderer(data.Strict, data.Limits);
        _claims = new DirectoryOutputClaims(data.ClaimsDirectory);
    }

    /// <summary>The handler of an agent process: its state is built from the first task's session data (one
    /// session per agent process).</summary>
    internal static AgentTaskHandler ProcessHandler()
    {
        RenderAgent? agent = null;
        return (task, ct) =>
        {
            agent ??= new RenderAgent(RenderJobData.Decode(task.SessionData)); // one agent loop thread calls the handler
            return agent.Handle(task, ct);
        };
    }

    internal ValueTask<ReadOnlyMemory<byte>> Handle(AgentTask task, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var (round, index) = RenderTaskCodec.ReadPayload(task.Payload.Span);
        if ((uint)round >= (uint)_data.Rounds || (uint)index >= (uint)_data.Templates.Count)
        {
            throw new InvalidDataException($"task {task.Id} names round {round} and template {index}, outside this job ({_data.Rounds} rounds, {_data.Templates.Count} templates).");
        }

        var template = _data.Templates[index];
        RenderTaskResult result;
        try
        {
            result = Render(task, template, round);
        }
        catch (TemplateException e)
        {
            result = new RenderTaskResult(task.AgentIndex, null, 0, default, e.Error);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            result = new RenderTaskResult(task.AgentIndex, null, 0, default,
                new TemplateError(TemplateErrorKind.Render, template.Id, $"rendering failed unexpectedly: {e.GetType().Name}: {e.Message}"));
        }

        return ValueTask.FromResult<ReadOnlyMemory<byte>>(RenderTaskCodec.Encode(result));
    }

    private RenderTaskResult Render(AgentTask task, TemplateSource template, int round)
    {
        var writer = _writers.GetOrAdd(round, static (r, self) => new OutputWriter(RenderJob.RoundDirectory(self._data.OutputDirectory, r, self._data.Rounds), self._data.Durable, self._claims), this);
        var dependencies = Dependencies(task, template, writer);
        var rendered = _renderer.RenderOne(template, dependencies, _data.Globals);
        var write = writer.Write(rendered);
        // The first render of a template in this agent parsed it: that task reports the parse time, the others none.
        var parse = _parsed.TryAdd(template.Id, 0) ? rendered.Timings.Parse : TimeSpan.Zero;
        long bytes = Encoding.UTF8.GetByteCount(rendered.Content);
        return new RenderTaskResult(task.AgentIndex, rendered.OutputPath, bytes, new TemplateTimings(TimeSpan.Zero, parse, rendered.Timings.Render, write), null);
    }

    private Dictionary<string, RenderedTemplate> Dependencies(AgentTask task, TemplateSource template, OutputWriter writer)
    {
        var ids = template.FrontMatter.DependsOn;
        if (ids.Count != task.DependencyResults.Count)
        {
            throw new InvalidDataException($"template '{template.Id}' depends on {ids.Count} template(s) but its task came with {task.DependencyResults.Count} result(s).");
        }

        var dependencies = new Dictionary<string, RenderedTemplate>(ids.Count, StringComparer.Ordinal);
        for (int i = 0; i < ids.Count; i++)
        {
            var dep = RenderTaskCodec.Decode(task.DependencyResults[i]);
            if (dep.Error is { } error)
            {
                var root = error.Kind == TemplateErrorKind.DependencyFailed ? error.Message : $"'{ids[i]}' failed ({error.Kind})";
                throw new TemplateException(new TemplateError(TemplateErrorKind.DependencyFailed, template.Id,
                    error.Kind == TemplateErrorKind.DependencyFailed ? root : $"not rendered: it depends on {root}. Fix '{ids[i]}' first."));
            }

            var path = writer.ResolveFullPath(ids[i], dep.OutputPath!);
            string content;
            try
            {
                content = Utf8.GetString(File.ReadAllBytes(path));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or DecoderFallbackException)
            {
                throw new TemplateException(new TemplateError(TemplateErrorKind.Render, template.Id,
                    $"cannot read the output of its dependency '{ids[i]}' ({path}): {e.Message}. Something removed or changed the output folder while the job ran."), e);
            }

            var variables = _index.TryGetValue(ids[i], out int at) ? _data.Templates[at].FrontMatter.Variables : new Dictionary<string, object?>();
            dependencies.Add(ids[i], new RenderedTemplate(ids[i], dep.OutputPath!, content, variables, default));
        }

        return dependencies;
    }
}
