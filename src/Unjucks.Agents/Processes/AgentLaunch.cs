using System.Globalization;

namespace Unjucks.Agents.Processes;

/// <summary>
/// What one agent process needs to join a session: the coordinator passes it to the caller's launcher, which
/// turns it into a command line (for example <c>unjucks-perf agent</c> + <see cref="ToArguments"/>), and the
/// agent's entry point reads it back with <see cref="Parse"/>.
/// </summary>
/// <param name="RegionName">Name of the shared region (file stem).</param>
/// <param name="Directory">Directory holding the region, the session control file and job segments.</param>
/// <param name="SessionName">The coordinator's session name (control file and job segment stems).</param>
/// <param name="AgentIndex">The agent's index in the session, 0 to agent count - 1.</param>
internal sealed record AgentLaunch(string RegionName, string Directory, string SessionName, int AgentIndex)
{
    private const string RegionOption = "--region";
    private const string DirectoryOption = "--dir";
    private const string SessionOption = "--session";
    private const string AgentOption = "--agent";

    /// <summary>The launch as command-line arguments: <c>--region R --dir D --session S --agent I</c>.</summary>
    /// <returns>The arguments, to append to a <see cref="System.Diagnostics.ProcessStartInfo.ArgumentList"/>.</returns>
    public IReadOnlyList<string> ToArguments() =>
        [RegionOption, RegionName, DirectoryOption, Directory, SessionOption, SessionName, AgentOption, AgentIndex.ToString(CultureInfo.InvariantCulture)];

    /// <summary>Reads the four options written by <see cref="ToArguments"/> (in any order) and returns the other arguments.</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <param name="rest">The arguments that are not launch options, in order.</param>
    /// <returns>The launch.</returns>
    /// <exception cref="ArgumentException">An option is missing, repeated, without value, or the agent index is not a non-negative integer.</exception>
    public static AgentLaunch Parse(IReadOnlyList<string> args, out IReadOnlyList<string> rest)
    {
        ArgumentNullException.ThrowIfNull(args);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var others = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a is RegionOption or DirectoryOption or SessionOption or AgentOption)
            {
                if (i + 1 >= args.Count)
                {
                    throw new ArgumentException($"Agent launch option {a} needs a value.", nameof(args));
                }

                if (!values.TryAdd(a, args[++i]))
                {
                    throw new ArgumentException($"Agent launch option {a} is given twice.", nameof(args));
                }
            }
            else
            {
                others.Add(a);
            }
        }

        foreach (string option in (string[])[RegionOption, DirectoryOption, SessionOption, AgentOption])
        {
            if (!values.ContainsKey(option))
            {
                throw new ArgumentException(
                    $"Agent launch option {option} is missing; an agent process needs {RegionOption}, {DirectoryOption}, {SessionOption} and {AgentOption} (see AgentLaunch.ToArguments).", nameof(args));
            }
        }

        if (!int.TryParse(values[AgentOption], NumberStyles.None, CultureInfo.InvariantCulture, out int index))
        {
            throw new ArgumentException($"Agent launch option {AgentOption} '{values[AgentOption]}' is not a non-negative integer.", nameof(args));
        }

        rest = others;
        return new AgentLaunch(values[RegionOption], values[DirectoryOption], values[SessionOption], index);
    }
}
