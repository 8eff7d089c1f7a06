using Unjucks.Cli;
using Unjucks.Templates;

// Started by a processes-mode job as one of its agents: serve it (the session's arguments end the command line).
if (RenderJob.IsAgentInvocation(args))
{
    return await RenderJob.RunAgentAsync(args);
}

// SIGINT, SIGTERM and SIGHUP cancel the command (agents stopped, files removed); a second signal ends the process.
using var signals = new ShutdownSignals();
return await Cli.InvokeAsync(args, Cli.CreateDefaultServices(), Console.Out, Console.Error, signals);
