using Unjucks.SharedMemory.Jobs;
using Unjucks.SharedMemory.Sessions;

namespace Unjucks.SharedMemory.Tests;

/// <summary>The faults the session-file fuzzer found, pinned: a damaged inbox capacity at open is a typed error,
/// whether the word is nonsense or a plausible power of two that would index past the inbox.</summary>
[TestFixture]
public sealed class SessionFileDamageTests
{
    [TestCase(-1L, TestName = "inbox capacity -1")]
    [TestCase(1L << 20, TestName = "inbox capacity a larger power of two")]
    public void An_inbox_capacity_other_than_the_layouts_is_refused_at_open(long capacity)
    {
        string dir = Path.Combine("/dev/shm", "unjucks-session-damage-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string path = Path.Combine(dir, "s1-0000000000000000.session");
        try
        {
            using (SessionSegment.Create(path, 2, 16, 256, [], TimeSpan.FromMilliseconds(100)))
            {
            }

            using (var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
            {
                file.Position = SessionSegmentLayout.InboxesOffset(2) + SessionSegmentLayout.InboxStride(16) + TaskInboxLayout.CapacityOffset; // agent 1's inbox
                file.Write(BitConverter.GetBytes(capacity));
            }

            var e = Assert.Throws<SharedRegionFormatException>(() => SessionSegment.Open(path).Dispose());

            Assert.That(e!.Message, Does.StartWith($"Session file '{path}' is damaged"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
