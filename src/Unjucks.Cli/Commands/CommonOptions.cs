using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Unjucks.Agents;
using Unjucks.Cli.Engine;
using Unjucks.Templates;

namespace Unjucks.Cli.Commands;

/// <summary>
/// Options shared by several commands, with their validation. Every check happens while parsing, so a bad value
/// is a parse error: usage on stderr and exit code 2.
/// </summary>
internal static class CommonOptions
{
    /// <summary>Largest agent count accepted; more agents than this is a typo, not a plan.</summary>
    public const int MaxAgents = 256;

    public static Option<int> AgentCount()
    {
        return new Option<int>("--agents", "-a")
        {
            Description = $"Number of agents, 1 to {MaxAgents}.",
            DefaultValueFactory = _ => 4,
            HelpName = "N",
            CustomParser = result => ParseBoundedInt(result, "--agents", 1, MaxAgents),
        };
    }

    /// <summary>Parses one integer token within [min, max], adding a parse error that names the option otherwise.</summary>
    internal static int ParseBoundedInt(ArgumentResult result, string optionName, int min, int max)
    {
        var text = string.Join(" ", result.Tokens.Select(t => t.Value));
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            result.AddError($"{optionName} takes a whole number from {min} to {max}; '{text}' is not one.");
            return min;
        }

        if (value < min || value > max)
        {
            result.AddError($"{optionName} must be between {min} and {max}; got {value}.");
            return min;
        }

        return value;
    }

    /// <summary><c>--adaptive [MIN..MAX]</c>: let the session choose how many agents render (null: not given).</summary>
    public static Option<AgentRange?> Adaptive(string defaultMax)
    {
        return new Option<AgentRange?>("--adaptive")
        {
            Description = $"Let the session choose how many agents render: it starts up to MAX agents and moves the active count to the one with the highest measured throughput (knee search over 500 ms windows). MIN..MAX, each 1 to {MaxAgents}; default 1..{defaultMax}.",
            HelpName = "MIN..MAX",
            Arity = ArgumentArity.ZeroOrOne,
            CustomParser = ParseAgentRange,
        };
    }

    /// <summary>Parses "MIN..MAX" (no token: the default range, its maximum left to the command).</summary>
    internal static AgentRange? ParseAgentRange(ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
        {
            return new AgentRange(1, null);
        }

        var text = result.Tokens[0].Value;
        var parts = text.Split("..", StringSplitOptions.TrimEntries);
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var min)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var max))
        {
            result.AddError($"--adaptive takes a range MIN..MAX like 1..8; '{text}' is not one.");
            return null;
        }

        if (min < 1 || max > MaxAgents || min > max)
        {
            result.AddError($"--adaptive needs 1 <= MIN <= MAX <= {MaxAgents}; got {min}..{max}.");
            return null;
        }

        return new AgentRange(min, max);
    }

    /// <summary>The agent counts <c>scale</c> runs when --agents is not given.</summary>
    public static readonly int[] DefaultAgentList = [1, 2, 4, 8, 16];

    public static Option<int[]> AgentList()
    {
        return new Option<int[]>("--agents", "-a")
        {
            Description = $"Comma-separated agent counts to run, each 1 to {MaxAgents}, no repeats; default 1,2,4,8,16.",
            HelpName = "1,2,4,8,16",
            Arity = ArgumentArity.ExactlyOne,
            CustomParser = ParseAgentList,
        };
    }

    public static Option<RenderMode> Mode()
    {
        return new Option<RenderMode>("--mode", "-m")
        {
            Description = "Agents as separate processes or as threads in this process: processes|threads.",
            DefaultValueFactory = _ => RenderMode.Processes,
            HelpName = "processes|threads",
            CustomParser = ParseMode,
        };
    }

    /// <summary>Largest --repeat accepted.</summary>
    public const int MaxRepeat = 10_000;

    /// <summary>
    /// Rounds of the bundled samples when --repeat is not given: enough that a 1-agent run takes about a second or two
    /// on a laptop-class core, so that the measurement is not dominated by start-up (JIT, discovery). A tree given
    /// with --templates is rendered once unless --repeat says otherwise.
    /// </summary>
    public const int DefaultSampleRepeat = 50;

    public static Option<int?> Repeat()
    {
        return new Option<int?>("--repeat", "-r")
        {
            Description = $"Render the template tree K times (rounds), each round into its own subfolder round-01, round-02... " +
                $"(1 to {MaxRepeat}); default {DefaultSampleRepeat} for the bundled samples, 1 with --templates.",
            HelpName = "K",
            CustomParser = result => CommonOptions.ParseBoundedInt(result, "--repeat", 1, MaxRepeat),
        };
    }

    /// <summary><c>scale --rounds K</c>: the rounds of each run, as <c>run --repeat K</c>.</summary>
    public static Option<int?> Rounds()
    {
        return new Option<int?>("--rounds")
        {
            Description = $"Render the template tree K times (rounds) in each run (1 to {MaxRepeat}); default {DefaultSampleRepeat} for the bundled samples, 1 with --templates.",
            HelpName = "K",
            CustomParser = result => CommonOptions.ParseBoundedInt(result, "--rounds", 1, MaxRepeat),
        };
    }

    /// <summary>Largest <c>scale --repeat</c>.</summary>
    public const int MaxRuns = 100;

    /// <summary><c>scale --repeat N</c>: runs per agent count.</summary>
    public static Option<int> Runs()
    {
        return new Option<int>("--repeat", "-r")
        {
            Description = $"Run each agent count N times (1 to {MaxRuns}, default 1); the table shows the median run and the spread of operations/s over the N.",
            HelpName = "N",
            DefaultValueFactory = _ => 1,
            CustomParser = result => CommonOptions.ParseBoundedInt(result, "--repeat", 1, MaxRuns),
        };
    }

    /// <summary>The longest --template-timeout: one day.</summary>
    public const int MaxTemplateTimeoutSeconds = 86_400;

    public static Option<int?> TemplateTimeout()
    {
        return new Option<int?>("--template-timeout")
        {
            Description = $"Fail a template whose render takes longer than SECONDS (1 to {MaxTemplateTimeoutSeconds}; default 10); the others still render.",
            HelpName = "SECONDS",
            CustomParser = result => CommonOptions.ParseBoundedInt(result, "--template-timeout", 1, MaxTemplateTimeoutSeconds),
        };
    }

    /// <summary>The largest --max-output, MiB: 4 GiB.</summary>
    public const int MaxOutputMegabytes = 4096;

    public static Option<int?> MaxOutput()
    {
        return new Option<int?>("--max-output")
        {
            Description = $"Fail a template whose output passes MIB mebibytes (1 to {MaxOutputMegabytes}; default 64); the others still render.",
            HelpName = "MIB",
            CustomParser = result => CommonOptions.ParseBoundedInt(result, "--max-output", 1, MaxOutputMegabytes),
        };
    }

    /// <summary>Largest --memory-budget, MiB (1 TiB).</summary>
    public const int MaxMemoryBudgetMegabytes = 1 << 20;

    public static Option<int?> MemoryBudget()
    {
        return new Option<int?>("--memory-budget")
        {
            Description = $"A memory budget for the agents, MIB mebibytes (1 to {MaxMemoryBudgetMegabytes}): their measured memory (PSS) is shown against it, and a coordinated GC round starts at 80 % of it. Default: none.",
            HelpName = "MIB",
            CustomParser = result => CommonOptions.ParseBoundedInt(result, "--memory-budget", 1, MaxMemoryBudgetMegabytes),
        };
    }

    /// <summary>The rounds to run: --repeat when given, else the default for the bundled samples or a given tree.</summary>
    public static int ResolveRepeat(int? repeat, int templateDirectoryCount) =>
        repeat ?? (templateDirectoryCount == 0 ? DefaultSampleRepeat : 1);

    public static Option<string[]> TemplateDirectories(Func<string> currentDirectory)
    {
        var option = new Option<string[]>("--templates", "-t")
        {
            Description = "Template directories (repeat or list several); default: the bundled samples.",
            HelpName = "DIR",
            AllowMultipleArgumentsPerToken = true,
            Arity = ArgumentArity.OneOrMore,
        };
        option.Validators.Add(result =>
        {
            foreach (var directory in result.GetValueOrDefault<string[]>() ?? [])
            {
                var full = Path.GetFullPath(directory, currentDirectory());
                if (!Directory.Exists(full))
                {
                    result.AddError($"template directory '{directory}' does not exist (looked at {full}).");
                }
            }
        });
        return option;
    }

    public static Option<string?> VariablesFile(Func<string> currentDirectory)
    {
        var option = new Option<string?>("--vars")
        {
            Description = "File of global template variables.",
            HelpName = "FILE",
        };
        option.Validators.Add(result =>
        {
            var file = result.GetValueOrDefault<string?>();
            if (file is not null && !File.Exists(Path.GetFullPath(file, currentDirectory())))
            {
                result.AddError($"variables file '{file}' does not exist.");
            }
        });
        return option;
    }

    /// <summary>Parses "1,2,4": positive integers within range, no repeats, kept in the order given.</summary>
    internal static int[] ParseAgentList(ArgumentResult result)
    {
        var text = string.Join(",", result.Tokens.Select(t => t.Value));
        var parsed = TryParseAgentList(text, out var error);
        if (parsed is null)
        {
            result.AddError(error!);
            return [];
        }

        return parsed;
    }

    internal static int[]? TryParseAgentList(string text, out string? error)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new List<int>(parts.Length);
        foreach (var part in parts)
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                error = $"--agents takes a comma-separated list of numbers like 1,2,4,8; '{part}' in '{text}' is not a number.";
                return null;
            }

            if (value < 1 || value > MaxAgents)
            {
                error = $"--agents values must be between 1 and {MaxAgents}; got {value} in '{text}'.";
                return null;
            }

            if (values.Contains(value))
            {
                error = $"--agents lists {value} twice in '{text}'.";
                return null;
            }

            values.Add(value);
        }

        error = null;
        return [.. values];
    }

    private static RenderMode ParseMode(ArgumentResult result)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Join(" ", result.Tokens.Select(t => t.Value));
        switch (text.ToLowerInvariant())
        {
            case "processes":
            case "process":
                return RenderMode.Processes;
            case "threads":
            case "thread":
                return RenderMode.Threads;
            default:
                result.AddError($"--mode must be 'processes' or 'threads'; got '{text}'.");
                return RenderMode.Processes;
        }
    }
}

/// <summary>The range of <c>--adaptive</c>; <paramref name="Max"/> null where the command supplies its default.</summary>
internal sealed record AgentRange(int Min, int? Max)
{
    /// <summary>The session's setting, with <paramref name="defaultMax"/> where no maximum was given (never below
    /// <see cref="Min"/>).</summary>
    public AgentConcurrency ToConcurrency(int defaultMax) => AgentConcurrency.Adaptive(Min, Max ?? Math.Max(Min, defaultMax));
}
