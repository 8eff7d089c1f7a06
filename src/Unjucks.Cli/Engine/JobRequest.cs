using Unjucks.Agents;
using Unjucks.Templates;
namespace Unjucks.Cli.Engine;

/// <summary>One template-rendering job, as the tool asks the engine to run it.</summary>
/// <param name="Agents">Number of agents, at least 1 (the tool validates the range before calling).</param>
/// <param name="TemplateDirectories">
/// Directories to discover templates in, all existing. Empty means the engine's bundled sample tree.
/// </param>
/// <param name="OutputDirectory">
/// Absolute directory that receives the rendered files; the tool creates it before the call. Nothing may be
/// written outside it.
/// </param>
/// <param name="Mode">Agents as processes or as threads.</param>
/// <param name="VariablesFile">Optional existing file of global variables (JSON or YAML; the engine decides), or null.</param>
/// <param name="Repeat">
/// Rounds: the template tree is rendered this many times (at least 1), each round into its own subfolder
/// <c>round-01</c>, <c>round-02</c>... of <paramref name="OutputDirectory"/> (directly into it when 1). Every round is
/// its own set of tasks with its own dependencies, submitted round after round as the session's in-flight window
/// allows; a template is parsed once per agent process (once per job in threads mode).
/// </param>
/// <param name="TemplateTimeout">Time one template's render may take before it is that template's error (null: the library's default, 10 s).</param>
/// <param name="MaxOutputBytes">Largest output of one template, UTF-8 bytes (null: the library's default, 64 MiB).</param>
/// <param name="Concurrency">
/// An adaptive agent count (null: all <paramref name="Agents"/> render). With one, the job starts
/// <see cref="AgentConcurrency.MaxAgents"/> agents (<paramref name="Agents"/> is not used) and the session moves the
/// number that render to the count with the highest measured throughput.
/// </param>
/// <param name="MemoryBudgetBytes">
/// A memory budget for the agents (null: none): their measured memory (PSS) is shown against it and a coordinated GC
/// round starts at 0.8 of it (see <see cref="RenderJobOptions.MemoryBudgetBytes"/>).
/// </param>
public sealed record JobRequest(
    int Agents,
    IReadOnlyList<string> TemplateDirectories,
    string OutputDirectory,
    RenderMode Mode,
    string? VariablesFile,
    int Repeat = 1,
    TimeSpan? TemplateTimeout = null,
    long? MaxOutputBytes = null,
    AgentConcurrency? Concurrency = null,
    long? MemoryBudgetBytes = null)
{
    /// <summary>Agents the job starts: <see cref="Agents"/>, or the adaptive count's maximum.</summary>
    public int AgentsStarted => Concurrency?.MaxAgents ?? Agents;

    /// <summary>True when the job renders the engine's bundled samples (no template directory given).</summary>
    public bool UsesBundledSamples => TemplateDirectories.Count == 0;
}
