using System.Globalization;

namespace Unjucks.Agents;

/// <summary>An adaptive agent count for <see cref="AgentSessionOptions.Concurrency"/>: the session starts
/// <see cref="MaxAgents"/> agents, lets <see cref="InitialAgents"/> of them take work, and every
/// <see cref="Window"/> feeds the window's throughput and latency to an <see cref="AdaptiveConcurrencyController"/>,
/// whose limit becomes the active count. Agents beyond it are on standby: alive, taking no new work (not from their
/// inbox, not by stealing), finishing what they run; none is killed for it.</summary>
/// <remarks>A window counts only when it measured the count: the session had more runnable tasks than active agents
/// for at least three quarters of it (a starved session says nothing about how many agents it could use) and at least
/// <see cref="MinCompletionsPerWindow"/> tasks ended in it. Other windows are skipped and leave the count as it is.
/// Memory pressure (reserved bytes over <see cref="AgentSessionOptions.MemoryBudgetBytes"/>) above 0.9 lowers the count
/// by one at once.</remarks>
public sealed class AgentConcurrency
{
    /// <summary>Fewest agents that take work (default 1).</summary>
    public int MinAgents { get; init; } = 1;

    /// <summary>Most agents that take work; the session starts this many processes (default 16, the seed's ceiling).</summary>
    public int MaxAgents { get; init; } = 16;

    /// <summary>Agents taking work at the start (default: the processor count, within
    /// [<see cref="MinAgents"/>, <see cref="MaxAgents"/>]).</summary>
    public int? InitialAgents { get; init; }

    /// <summary>The measuring window (default 500 ms). Each window measures one count, so the knee search over 1..16
    /// takes about 8 windows: a session much shorter than that ends before it settles.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Tasks that must end in a window for it to count (default 8): fewer say too little about throughput.</summary>
    public int MinCompletionsPerWindow { get; init; } = 8;

    /// <summary>The controller's rules (default <see cref="ConcurrencyPolicy.KneeSearch"/>, chosen by the measurements in
    /// docs/agents.md).</summary>
    public ConcurrencyPolicy Policy { get; init; } = ConcurrencyPolicy.KneeSearch;

    /// <summary>An adaptive count between <paramref name="minAgents"/> and <paramref name="maxAgents"/>, with the
    /// other settings at their defaults.</summary>
    /// <param name="minAgents">Fewest agents that take work (at least 1).</param>
    /// <param name="maxAgents">Most agents that take work (at least <paramref name="minAgents"/>, at most 1000).</param>
    /// <returns>The setting, for <see cref="AgentSessionOptions.Concurrency"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The range is empty or outside 1..1000.</exception>
    public static AgentConcurrency Adaptive(int minAgents = 1, int maxAgents = 16)
    {
        var concurrency = new AgentConcurrency { MinAgents = minAgents, MaxAgents = maxAgents };
        concurrency.Validate();
        return concurrency;
    }

    /// <summary>The starting count in force.</summary>
    internal int EffectiveInitialAgents => Math.Clamp(InitialAgents ?? Environment.ProcessorCount, MinAgents, MaxAgents);

    internal void Validate()
    {
        if (MinAgents < 1 || MaxAgents < MinAgents || MaxAgents > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAgents), $"The adaptive agent count needs 1 <= MinAgents <= MaxAgents <= 1000 (got {MinAgents}..{MaxAgents}).");
        }

        if (InitialAgents is { } initial && (initial < MinAgents || initial > MaxAgents))
        {
            throw new ArgumentOutOfRangeException(nameof(InitialAgents), initial, $"InitialAgents is within MinAgents..MaxAgents ({MinAgents}..{MaxAgents}), or null for the processor count.");
        }

        if (Window < TimeSpan.FromMilliseconds(20))
        {
            throw new ArgumentOutOfRangeException(nameof(Window), Window, "Window is at least 20 ms (the session decides every 10 ms).");
        }

        if (MinCompletionsPerWindow < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MinCompletionsPerWindow), MinCompletionsPerWindow, "MinCompletionsPerWindow is at least 1.");
        }

        if (!Enum.IsDefined(Policy))
        {
            throw new ArgumentOutOfRangeException(nameof(Policy), Policy, "Unknown concurrency policy.");
        }
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"adaptive {MinAgents}..{MaxAgents} agents, starting at {EffectiveInitialAgents}, {Window.TotalMilliseconds:0} ms windows, {Policy}");
}

/// <summary>A change of a session's active agent count (see <see cref="AgentConcurrency"/>).</summary>
/// <param name="Elapsed">When, from the session's start.</param>
/// <param name="OldCount">Agents taking work before (0 in the first entry, the starting count).</param>
/// <param name="NewCount">Agents taking work after.</param>
/// <param name="Reason">Why, in the controller's words.</param>
public sealed record ActiveAgentsChange(TimeSpan Elapsed, int OldCount, int NewCount, string Reason);
