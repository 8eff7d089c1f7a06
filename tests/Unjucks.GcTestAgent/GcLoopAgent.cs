// "gc-loop" mode of the test agent: an agent process of a coordinated GC round (Unjucks.Agents.Gc), used by
// tests/Unjucks.Agents.Tests/Gc/CoordinatedGcTests.cs.
//   args: gc-loop <directory> <regionName> <coop|deaf>
// Opens the region, registers, and runs a loop thread: allocate garbage (about 64 KiB, a little of it kept in a
// rotating set), count the iteration, and, in "coop" mode, call GcPauseResponder.AtSafePoint (the safe point
// between "tasks"); "deaf" mode never calls it. Only the loop thread allocates, so the GC numbers the agent
// publishes while paused are not disturbed by its own work.
// Stdin/stdout, one line each:
//   (start)  -> "ready <pid> <agentSlot>"
//   gen2     -> "gen2 <GC.CollectionCount(2)> <GC.GetTotalMemory(false)>"
//   iter     -> "iter <iterations> <pausesServed>"
//   exit     -> stops the loop and exits with code 0 (stdin closing does the same)
using System.Globalization;
using Unjucks.Agents.Gc;
using Unjucks.SharedMemory;

internal static class GcLoopAgent
{
    public static int Run(string directory, string regionName, string mode)
    {
        bool cooperative = mode switch
        {
            "coop" => true,
            "deaf" => false,
            _ => throw new ArgumentException($"mode '{mode}' is neither 'coop' nor 'deaf'", nameof(mode)),
        };
        var region = SharedRegion.Open(regionName, new SharedRegionOptions { Directory = directory });
        int slot = region.Agents.Register();
        var responder = new GcPauseResponder(region);
        long iterations = 0;
        int stop = 0;
        var loop = new Thread(() =>
        {
            var keep = new object[64];
            int k = 0;
            while (Volatile.Read(ref stop) == 0) // acquire; pairs with the Volatile.Write after the stdin loop
            {
                for (int i = 0; i < 16; i++)
                {
                    var block = new byte[4096 + (i * 64)];
                    if (i == 0)
                    {
                        keep[k++ & 63] = block;
                    }
                }

                Interlocked.Increment(ref iterations); // read by the stdin thread ("iter")
                if (cooperative)
                {
                    responder.AtSafePoint();
                }

                Thread.Sleep(1); // stay light on a shared 2-core machine.
            }
        }) { IsBackground = true, Name = "gc-loop" };
        loop.Start();

        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ready {Environment.ProcessId} {slot}"));
        Console.Out.Flush();
        string? line;
        while ((line = Console.In.ReadLine()) is not null && line.Trim() != "exit")
        {
            string reply = line.Trim() switch
            {
                "gen2" => string.Create(CultureInfo.InvariantCulture, $"gen2 {GC.CollectionCount(2)} {GC.GetTotalMemory(false)}"),
                "iter" => string.Create(CultureInfo.InvariantCulture, $"iter {Interlocked.Read(ref iterations)} {responder.PausesServed}"),
                "" => "",
                _ => "error unknown command: " + line,
            };
            if (reply.Length > 0)
            {
                Console.Out.WriteLine(reply);
                Console.Out.Flush();
            }
        }

        Volatile.Write(ref stop, 1); // release; pairs with the loop's acquire read
        if (loop.Join(TimeSpan.FromSeconds(5)))
        {
            region.Dispose(); // only once the loop no longer uses it
        }

        return 0;
    }
}
