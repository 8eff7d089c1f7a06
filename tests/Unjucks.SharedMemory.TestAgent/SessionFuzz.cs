// "fuzz-session <dir> <seed> <cases>": damaged session files, the agent-session counterpart of Fuzz.cs (regions).
// Each case creates a session file (3 agents, 16 slots, 256 inline bytes, session data), fills it as a running
// session would (tasks placed, some leased, one committed, ids in the inboxes), damages it as Fuzz.cs does, opens
// it and calls what coordinators and agents do on it: inbox count, drain and push, the task table's reads,
// lease, commit, recovery and collection, the session data, the agent words, a park with a 1 ms timeout. Every
// call must return or throw a typed exception (SharedRegionFormatException, or UnauthorizedAccessException from
// the owner check) within the 10 s watchdog. Output as Fuzz.cs, with "fuzz-session" as the summary's first word.
using Unjucks.SharedMemory;
using Unjucks.SharedMemory.Sessions;

internal static class SessionFuzz
{
    internal static int Run(string directory, int seed, int cases)
    {
        var harness = new FuzzHarness(e => e is SharedRegionFormatException or UnauthorizedAccessException);
        var data = new byte[300];
        new Random(seed).NextBytes(data);
        for (int c = 0; c < cases; c++)
        {
            var random = new Random(seed + c);
            string path = Path.Combine(directory, $"s{Environment.ProcessId}-{c:x16}.session");
            Prepare(path, data);
            Fuzz.Damage(path, random);
            Console.WriteLine($"case {c}");

            void Call(string what, Action action) => harness.Call(c, what, action);

            SessionSegment? segment = null;
            Call("open", () => segment = SessionSegment.Open(path));
            if (segment is not null)
            {
                using (segment)
                {
                    var ids = new List<long>();
                    for (int a = 0; a < segment.AgentCount; a++)
                    {
                        int agent = a;
                        Call("inbox.count", () => _ = segment.Inbox(agent).Count);
                        Call("inbox.drain", () => segment.Inbox(agent).DrainDead(ids));
                        Call("inbox.push", () => segment.Inbox(agent).TryEnqueue(agent));
                        Call("agent.words", () => _ = (segment.AgentPid(agent), segment.AgentState(agent), segment.AgentHeartbeat(agent), segment.AgentTasksRun(agent)));
                        Call("table.recover", () => segment.Table.Recover(agent, ids));
                        Call("table.recover-held", () => segment.Table.RecoverHeld(agent, ids));
                    }

                    for (int s = 0; s < segment.SlotCount; s++)
                    {
                        int slot = s;
                        Call("table.read", () => _ = (segment.Table.Read(slot), segment.Table.Version(slot)));
                        Call("table.lease-commit", () =>
                        {
                            if (segment.Table.TryLease(slot, 1, out long epoch) && segment.Table.TryBeginCommit(slot, 1, epoch))
                            {
                                segment.Table.FinishCommit(slot, 1, epoch, 42);
                            }
                        });
                        Call("table.result", () => segment.Table.TryReadResult(slot, out _));
                        Call("table.place", () => segment.Table.TryPlace(slot, 2));
                        Call("slot.input", () => _ = segment.InputInline(slot).Length + segment.OutputInline(slot).Length);
                    }

                    Call("table.collect", () => segment.Table.CollectQueued(ids));
                    Call("table.done", () => segment.Table.CountDone());
                    Call("session-data", () => _ = segment.SessionData.ToArray().Length);
                    Call("stop-word", () => _ = segment.StopRequested);
                    Call("park", () => segment.ParkAgent(0, () => true, TimeSpan.FromMilliseconds(1)));
                    Call("wake", () => segment.WakeAgent(0, force: true));
                }
            }

            File.Delete(path);
        }

        harness.Report("fuzz-session", cases);
        return 0;
    }

    /// <summary>A session file as a running session leaves it: placed, leased and committed tasks, ids queued.</summary>
    private static void Prepare(string path, byte[] data)
    {
        using var segment = SessionSegment.Create(path, 3, 16, 256, data, TimeSpan.FromMilliseconds(100));
        for (int s = 0; s < 12; s++)
        {
            segment.Table.TryPlace(s, s % 3);
            segment.Inbox(s % 3).TryEnqueue(s);
        }

        if (segment.Table.TryLease(0, 0, out long epoch) && segment.Table.TryBeginCommit(0, 0, epoch))
        {
            segment.Table.FinishCommit(0, 0, epoch, 7);
        }

        segment.Table.TryLease(1, 1, out _);
        segment.Register(0, 0);
    }
}
