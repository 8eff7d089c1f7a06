using Unjucks.Cli;
using Unjucks.Templates;

// Started by a processes-mode job as one of its agents: serve it (the session's arguments end the command line).
if (RenderJob.IsAgentInvocation(args))
{
    return await RenderJob.RunAgentAsync(args);
}

// Not disposed: the handler below may still run while the process exits.
var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl+C cancels the command gracefully; a second one (after cancellation) ends the process.
    e.Cancel = !cancellation.IsCancellationRequested;
    cancellation.Cancel();
};

return await Cli.InvokeAsync(args, Cli.CreateDefaultServices(), Console.Out, Console.Error, cancellation.Token);
