using System.Runtime.CompilerServices;

namespace Unjucks.LockFree.Tests;

public class CachePaddedLongTests
{
    [Test]
    public void Layout_KeepsAtLeast120BytesOnEachSideOfTheValue()
    {
        var padded = new CachePaddedLong();
        int size = Unsafe.SizeOf<CachePaddedLong>();
        // SAFETY: both references point into the same local struct; only their distance is computed.
        long offset = Unsafe.ByteOffset(ref Unsafe.As<CachePaddedLong, byte>(ref padded), ref Unsafe.As<long, byte>(ref padded.Value));
        Assert.Multiple(() =>
        {
            Assert.That(size, Is.EqualTo(256), "struct size");
            Assert.That(offset, Is.EqualTo(CachePaddedLong.LineSize), "offset of Value");
            Assert.That(size - offset - sizeof(long), Is.GreaterThanOrEqualTo(CachePaddedLong.LineSize - 8), "padding after Value");
        });
    }

    [Test]
    public void Backoff_CountsSpins()
    {
        var backoff = new Backoff();
        for (int i = 0; i < 5; i++)
        {
            backoff.Spin();
        }

        Assert.That(backoff.Count, Is.EqualTo(5));
        backoff.Reset();
        Assert.That(backoff.Count, Is.Zero);
    }
}
