// Child process for the coordinated-GC tests (Unjucks.Agents.Tests/Gc).
// Protocol, one line per command on stdin, one line per answer on stdout:
//   (start)       -> "ready <pid>"
//   gen2          -> "gen2 <GC.CollectionCount(2)> <GC.GetTotalMemory(false)>"
//   exit          -> process exits with code 0
// Stdin closing (the parent died) also ends the process, so no orphan keeps running.
// With arguments "gc-loop <directory> <regionName> <coop|deaf>" it runs as an agent of a coordinated GC round
// instead (GcLoopAgent.cs).
using System.Globalization;

if (args.Length == 4 && args[0] == "gc-loop")
{
    return GcLoopAgent.Run(args[1], args[2], args[3]);
}

var garbage = new Thread(() =>
{
    // Keeps a small rotating set alive (so some objects age into gen 1/2) and drops the rest immediately.
    var keep = new object[256];
    var i = 0;
    while (true)
    {
        for (var k = 0; k < 200; k++)
        {
            var block = new byte[512 + (k * 37 % 4096)];
            if (k % 50 == 0)
            {
                keep[i++ & 255] = block;
            }
        }

        Thread.Sleep(2); // stay light on a shared 2-core machine.
    }
}) { IsBackground = true, Name = "garbage" };
garbage.Start();

Console.Out.WriteLine(FormattableString.Invariant($"ready {Environment.ProcessId}"));
Console.Out.Flush();
string? line;
while ((line = Console.In.ReadLine()) is not null)
{
    switch (line.Trim())
    {
        case "gen2":
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"gen2 {GC.CollectionCount(2)} {GC.GetTotalMemory(false)}"));
            Console.Out.Flush();
            break;
        case "exit":
            return 0;
        case "":
            break;
        default:
            Console.Out.WriteLine("error unknown command: " + line);
            Console.Out.Flush();
            break;
    }
}

return 0;
