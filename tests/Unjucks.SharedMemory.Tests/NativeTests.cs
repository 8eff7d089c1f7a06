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

    [Test]
    public void Owner_lock_file_names_its_holder_and_is_gone_after_release()
    {
        string dir = Path.Combine(Path.GetTempPath(), "unjucks-ownerlock-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "job.lock");
        try
        {
            using (OwnerLockFile? held = OwnerLockFile.TryAcquire(path, out int self))
            {
                Assert.That(held, Is.Not.Null);
                Assert.That(self, Is.EqualTo(Environment.ProcessId));
                Assert.That(ReadWithoutLocking(path), Is.EqualTo(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                Assert.That(OwnerLockFile.TryAcquire(path, out int holder), Is.Null, "a second descriptor conflicts");
                Assert.That(holder, Is.EqualTo(Environment.ProcessId), "the refused one learns who holds it");
                Assert.That((File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)), Is.EqualTo((UnixFileMode)0), "0600");
            }

            Assert.That(File.Exists(path), Is.False, "released: the file is removed");
            using (OwnerLockFile? again = OwnerLockFile.TryAcquire(path, out _))
            {
                Assert.That(again, Is.Not.Null, "free again after release");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Owner_lock_file_left_by_a_dead_holder_is_taken_over()
    {
        string dir = Path.Combine(Path.GetTempPath(), "unjucks-ownerlock-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "job.lock");
        try
        {
            File.WriteAllText(path, "4194303\n"); // what a SIGKILLed holder leaves: the file, its pid, no lock
            using OwnerLockFile? taken = OwnerLockFile.TryAcquire(path, out int holder);
            Assert.That(taken, Is.Not.Null, "nobody holds the flock: the file is reused");
            Assert.That(holder, Is.EqualTo(Environment.ProcessId));
            Assert.That(ReadWithoutLocking(path), Is.EqualTo(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)), "the old pid is overwritten");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    [Repeat(20)]
    public void Owner_lock_file_is_held_by_exactly_one_of_racing_acquirers_across_releases()
    {
        // Four threads take and release the lock 200 times each; releasing removes the file, so acquirers race
        // with the unlink. A counter inside the critical section must never see two holders.
        string dir = Path.Combine(Path.GetTempPath(), "unjucks-ownerlock-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "job.lock");
        int inside = 0, overlaps = 0, taken = 0;
        try
        {
            var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
            {
                for (int i = 0; i < 200; i++)
                {
                    using var held = OwnerLockFile.TryAcquire(path, out _);
                    if (held is null)
                    {
                        continue;
                    }

                    Interlocked.Increment(ref taken);
                    if (Interlocked.Increment(ref inside) != 1) // full fence: a second holder would see 2
                    {
                        Interlocked.Increment(ref overlaps);
                    }

                    Thread.Yield();
                    Interlocked.Decrement(ref inside);
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => Assert.That(t.Join(TimeSpan.FromSeconds(60)), Is.True, "hang guard"));
            Assert.That(overlaps, Is.Zero, "two holders at once");
            Assert.That(taken, Is.GreaterThan(0));
            Assert.That(File.Exists(path), Is.False, "the last release removed the file");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The file's text, read through a raw descriptor: the BCL's own File.ReadAllText takes flock(LOCK_SH)
    /// and so fails against the holder's LOCK_EX (cat, which takes none, reads it fine).</summary>
    private static string ReadWithoutLocking(string path)
    {
        using var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(LibCFiles.Open(path, LibCFiles.O_CLOEXEC, 0), ownsHandle: true); // O_RDONLY is 0
        Assert.That(handle.IsInvalid, Is.False, $"cannot open {path}");
        var buffer = new byte[64];
        int read = RandomAccess.Read(handle, buffer, 0);
        return System.Text.Encoding.ASCII.GetString(buffer, 0, read).Trim();
    }
}
