// The code of docs/getting-started.md. Run: dotnet run --project samples/getting-started
// With no arguments it runs the three parts and prints one line each; the cross-process parts start this same
// program again as the other process ("counter <region>" or "consumer <region>").
using System.Diagnostics;
using Unjucks.Samples.GettingStarted;

switch (args)
{
    case ["counter", string region]:
        SharedCounter.CountInChild(region);
        return 0;
    case ["consumer", string region]:
        return TwoProcessQueue.ConsumeInChild(region);
}

Console.WriteLine(InProcess.QueuesAndScheduler());
Console.WriteLine(SharedCounter.CountWithTwoProcesses());
Console.WriteLine(TwoProcessQueue.SendToAnotherProcess());
return 0;

namespace Unjucks.Samples.GettingStarted
{
    /// <summary>Starts this program again with <paramref name="arguments"/> (as `dotnet app.dll` or the apphost).</summary>
    internal static class Self
    {
        internal static Process Start(params string[] arguments)
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
            {
                start.ArgumentList.Add(typeof(Self).Assembly.Location);
            }

            foreach (string argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            return Process.Start(start)!;
        }
    }
}
