using System.Runtime.InteropServices;
using Unjucks.SharedMemory.Native;

namespace Unjucks.SharedMemory.Tests;

public class NativeTests
{
    [Test]
    public void Process_identity_tells_self_from_a_reused_or_missing_pid()
    {
        long start = ProcessIdentity.SelfStartTime;
        Assert.That(start, Is.GreaterThan(0));
        Assert.That(ProcessIdentity.IsRunning(Environment.ProcessId, start), Is.True);
        Assert.That(ProcessIdentity.IsRunning(Environment.ProcessId, start + 1), Is.False, "same pid, other start time");
        Assert.That(ProcessIdentity.IsRunning(0, 0), Is.False);
        Assert.That(ProcessIdentity.IsRunning(int.MaxValue, 0), Is.False);
    }

    [Test]
    public unsafe void Futex_wait_returns_on_mismatch_timeout_and_wake()
    {
        int* word = (int*)NativeMemory.AlignedAlloc(64, 64);
        try
        {
            *word = 5;
            Assert.That(Futex.Wait(word, 4, TimeSpan.FromSeconds(10)), Is.EqualTo(Futex.WaitResult.WokenOrChanged), "value differs: EAGAIN at once");
            Assert.That(Futex.Wait(word, 5, TimeSpan.FromMilliseconds(5)), Is.EqualTo(Futex.WaitResult.TimedOut));
            Assert.That(Futex.Wait(word, 5, TimeSpan.Zero), Is.EqualTo(Futex.WaitResult.TimedOut));

            var waiter = Task.Run(() =>
            {
                while (Volatile.Read(ref *word) == 5)
                {
                    Futex.Wait(word, 5, TimeSpan.FromSeconds(1));
                }
            });
            Thread.Sleep(20);
            Interlocked.Exchange(ref *word, 6); // full fence: the waiter's next compare sees 6
            Futex.Wake(word, 1);
            Assert.That(waiter.Wait(TimeSpan.FromSeconds(30)), Is.True, "hang guard");
        }
        finally
        {
            NativeMemory.AlignedFree(word);
        }
    }

    [Test]
    public void Agent_lock_file_is_exclusive_across_descriptors_and_released_on_close()
    {
        string path = Path.Combine(Path.GetTempPath(), "unjucks-lock-" + Guid.NewGuid().ToString("N"));
        try
        {
            Assert.That(AgentLockFile.IsFree(path), Is.True, "missing file");
            using (AgentLockFile? held = AgentLockFile.TryAcquire(path))
            {
                Assert.That(held, Is.Not.Null);
                Assert.That(AgentLockFile.IsFree(path), Is.False);
                Assert.That(AgentLockFile.TryAcquire(path), Is.Null, "a second descriptor in the same process conflicts");
            }

            Assert.That(AgentLockFile.IsFree(path), Is.True);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
