using Unjucks.Agents.Gc;

namespace Unjucks.Agents.Tests.Gc;

[TestFixture]
public class GcPauseLayoutTests
{
    [Test]
    public void Sizes_and_offsets_are_pinned()
    {
        Assert.That(GcPauseLayout.RequestBytes, Is.EqualTo(32));
        Assert.That(GcPauseLayout.RequestEpochOffset, Is.EqualTo(8));
        Assert.That(GcPauseLayout.RequestPauseBudgetOffset, Is.EqualTo(24));
        Assert.That(GcPauseLayout.AckBytes, Is.EqualTo(64));
        Assert.That(GcPauseLayout.AckEpochOffset, Is.EqualTo(8));
        Assert.That(GcPauseLayout.AckGen2BeforeOffset, Is.EqualTo(32));
        Assert.That(GcPauseLayout.AckPidOffset, Is.EqualTo(4));
        Assert.That(GcPauseLayout.AckGcTimeOffset, Is.EqualTo(40));
        Assert.That(GcPauseLayout.AckPausedForOffset, Is.EqualTo(56));
        Assert.That(GcPauseLayout.MaxRecordBytes, Is.EqualTo(64));
        Assert.That(GcPauseLayout.AckKey(12), Is.EqualTo("gc/ack/12"));
    }

    [Test]
    public void Records_round_trip()
    {
        var request = new GcPauseRequest(GcRequestState.Requested, long.MaxValue - 3, 4242, 7, 65535, 123_456);
        Span<byte> buffer = stackalloc byte[GcPauseLayout.RequestBytes];
        GcPauseLayout.Write(buffer, request);
        Assert.That(GcPauseLayout.ReadRequest(buffer), Is.EqualTo(request));

        var ack = new GcPauseAck(GcAckPhase.Released, GcReleaseReason.CoordinatorDied, GcAckSource.InducedGc, 99, 17, 1L << 40, 12345, 3, 4, 1000, 2500, 777);
        Span<byte> ackBuffer = stackalloc byte[GcPauseLayout.AckBytes];
        GcPauseLayout.Write(ackBuffer, ack);
        Assert.That(GcPauseLayout.TryReadAck(ackBuffer, out var back), Is.True);
        Assert.That(back, Is.EqualTo(ack));
    }

    [Test]
    public void Foreign_values_are_refused()
    {
        byte[] request = new byte[GcPauseLayout.RequestBytes];
        request[0] = 2; // another format
        request[1] = 1;
        Assert.That(() => GcPauseLayout.ReadRequest(request), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("format byte 2"));
        Assert.That(() => GcPauseLayout.ReadRequest(new byte[5]), Throws.InstanceOf<InvalidDataException>());
        Assert.That(GcPauseLayout.TryReadAck(new byte[GcPauseLayout.AckBytes], out _), Is.False, "all zero: no phase");
        Assert.That(GcPauseLayout.TryReadAck(new byte[10], out _), Is.False, "wrong length");
    }
}
