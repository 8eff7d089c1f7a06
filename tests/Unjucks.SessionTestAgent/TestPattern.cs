// Compiled into the test agent and, as a linked file, into Unjucks.Agents.Tests: the tests compute the bytes the
// agent's 'S' op returns with the very same generator, to check every result exactly.
namespace Unjucks.SessionTestAgent;

internal static class TestPattern
{
    /// <summary>Pseudo-random bytes (xorshift32) of <paramref name="size"/> from <paramref name="seed"/>.</summary>
    public static byte[] Of(int size, int seed)
    {
        var bytes = new byte[size];
        uint x = (uint)seed * 2654435761u + 1;
        for (int i = 0; i < size; i++)
        {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            bytes[i] = (byte)x;
        }

        return bytes;
    }
}
