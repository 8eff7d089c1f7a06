using System.CommandLine;
using Unjucks.Agents.Processes;
using Unjucks.Cli.Adapters;

namespace Unjucks.Cli.Commands;

/// <summary>
/// <c>agent</c> (hidden): one agent process of a processes-mode job, started by the coordinator (ProcessesJob) as
/// <c>unjucks-perf agent &lt;AgentLaunch arguments&gt; --templates DIR... --out DIR [--vars FILE] [--strict] [--repeat K] [--claims DIR]</c>.
/// Discovers the tree once, then serves the session's template tasks (<see cref="ProcessesTemplateHandler"/>) until
/// the coordinator stops the session or dies. Not for people: it is not listed in the help.
/// </summary>
internal static class AgentCommand
{
    public const string Name = "agent";

    public static Command Create(CliContext context)
    {
        var templates = new Option<string[]>("--templates")
        {
            Description = "Template directories (the coordinator's, absolute).",
            AllowMultipleArgumentsPerToken = true,
            Arity = ArgumentArity.OneOrMore,
            Required = true,
        };
        var output = new Option<string>("--out") { Description = "Output directory (absolute).", Required = true };
        var variables = new Option<string?>("--vars") { Description = "Global variables file." };
        var strict = new Option<bool>("--strict") { Description = "Strict mode." };
        var claims = new Option<string?>("--claims") { Description = "The job's output claims directory (shared by every agent)." };
        var repeat = new Option<int>("--repeat")
        {
            Description = "Rounds of the job.",
            DefaultValueFactory = _ => 1,
            CustomParser = result => CommonOptions.ParseBoundedInt(result, "--repeat", 1, CommonOptions.MaxRepeat),
        };
        var command = new Command(Name, "Serve a processes-mode job as one agent (started by the coordinator).")
        {
            templates, output, variables, strict, repeat, claims,
        };
        command.Hidden = true;
        // The launch options (--region, --dir, --session, --agent) belong to AgentLaunch, which parses them itself.
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parse, cancellationToken) =>
        {
            AgentLaunch launch;
            try
            {
                launch = AgentLaunch.Parse(parse.UnmatchedTokens, out var rest);
                if (rest.Count > 0)
                {
                    throw new ArgumentException($"unexpected arguments: {string.Join(' ', rest)}.");
                }
            }
            catch (ArgumentException e)
            {
                throw new CliException($"agent: {e.Message} This subcommand is started by 'run --mode processes', not by hand.", ExitCodes.Usage);
            }

            var handler = await ProcessesTemplateHandler.CreateAsync(
                parse.GetRequiredValue(templates), parse.GetRequiredValue(output), parse.GetValue(variables), parse.GetValue(strict),
                parse.GetValue(repeat), parse.GetValue(claims), cancellationToken).ConfigureAwait(false);
            await JobAgentHost.RunAsync(new AgentHostOptions(launch), handler, cancellationToken).ConfigureAwait(false);
            return ExitCodes.Ok;
        });
        return command;
    }
}
