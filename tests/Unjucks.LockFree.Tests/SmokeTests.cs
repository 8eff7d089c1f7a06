namespace Unjucks.LockFree.Tests;

public class SmokeTests
{
    [Test]
    public void Queue_RoundTrips()
    {
        var q = new MpmcQueue<int>();
        q.Enqueue(1);
        Assert.That(q.TryDequeue(out var x), Is.True);
        Assert.That(x, Is.EqualTo(1));
    }
}
