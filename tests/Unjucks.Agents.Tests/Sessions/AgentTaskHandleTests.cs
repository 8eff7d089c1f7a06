namespace Unjucks.Agents.Tests.Sessions;

/// <summary>The handle makes its Result task only when it is read: whichever of "read" and "end" comes first, and
/// however they race, every reader gets the same task and it carries the outcome the coordinator set.</summary>
public sealed class AgentTaskHandleTests
{
    [Test]
    public async Task Read_before_the_end_completes_with_the_result_and_read_after_it_is_the_same_task()
    {
        var early = NewHandle(1);
        Task<ReadOnlyMemory<byte>> first = early.Result;
        Assert.That(first.IsCompleted, Is.False);
        early.Complete(new byte[] { 7 });
        Assert.That((await first).ToArray(), Is.EqualTo(new byte[] { 7 }));
        Assert.That(early.Result, Is.SameAs(first));

        var late = NewHandle(2);
        late.Fail(new AgentTaskFailedException(2, "X", "boom", 1));
        Task<ReadOnlyMemory<byte>> made = late.Result;
        Assert.That(late.Result, Is.SameAs(made));
        var e = await Assert.ThrowsAsync<AgentTaskFailedException>(async () => await made);
        Assert.That(e!.AgentMessage, Is.EqualTo("boom"));
    }

    [Test]
    [Repeat(5)]
    public void Racing_readers_and_the_end_agree_on_one_task_and_its_outcome()
    {
        const int Handles = 20_000;
        var handles = new AgentTaskHandle[Handles];
        for (int i = 0; i < Handles; i++)
        {
            handles[i] = NewHandle(i);
        }

        var seenA = new Task<ReadOnlyMemory<byte>>[Handles];
        var seenB = new Task<ReadOnlyMemory<byte>>[Handles];
        using var go = new Barrier(3);
        var readerA = new Thread(() => { go.SignalAndWait(); for (int i = 0; i < Handles; i++) { seenA[i] = handles[i].Result; } });
        var readerB = new Thread(() => { go.SignalAndWait(); for (int i = Handles - 1; i >= 0; i--) { seenB[i] = handles[i].Result; } });
        var ender = new Thread(() =>
        {
            go.SignalAndWait();
            for (int i = 0; i < Handles; i++)
            {
                if (i % 3 == 0)
                {
                    handles[i].Fail(new AgentTaskFailedException(i, "X", $"failed {i}", 1));
                }
                else
                {
                    handles[i].Complete(BitConverter.GetBytes(i));
                }
            }
        });
        readerA.Start();
        readerB.Start();
        ender.Start();
        readerA.Join();
        readerB.Join();
        ender.Join();

        int wrong = 0;
        for (int i = 0; i < Handles; i++)
        {
            var t = seenA[i];
            bool ok = ReferenceEquals(t, seenB[i]) && ReferenceEquals(t, handles[i].Result) && t.IsCompleted
                && (i % 3 == 0
                    ? t.IsFaulted && t.Exception!.InnerException is AgentTaskFailedException f && f.TaskId == i
                    : t.IsCompletedSuccessfully && BitConverter.ToInt32(t.Result.Span) == i);
            wrong += ok ? 0 : 1;
        }

        Assert.That(wrong, Is.EqualTo(0), "handles whose readers saw different tasks or a wrong outcome");
    }

    private static AgentTaskHandle NewHandle(long id) => new(null!, id, ReadOnlyMemory<byte>.Empty, []);
}
