// ProcessesTaskCodec: what crosses the process boundary for one template task in processes mode.
//
// Payload (16 bytes, little-endian; the region allows 256+): round (int32), template index (int32), FNV-1a 64 hash
// of the template id (uint64). The index is the template's position in DiscoveryResult.Templates, which discovery
// sorts by id (ordinal), so the coordinator and every agent, having discovered the same directories, agree on it;
// the hash lets an agent refuse a task when its own discovery disagrees (a file added or renamed in between) instead
// of rendering the wrong template.
// Result (64 bits, never negative, so never JobResult.FailedResult): the agent-side time split of the task, which
// the coordinator sums into the job's time split and records as the operation's latency:
//   bits  0..9   agent index (0..1023; the engine allows up to 1022 agents)
//   bits 10..26  parse microseconds (17 bits, saturates at 131 ms; nonzero only the first time an agent renders the template)
//   bits 27..44  render microseconds (18 bits, saturates at 262 ms; includes reading the dependencies' output files)
//   bits 45..62  write microseconds (18 bits, saturates at 262 ms)
//   bit  63      0
// Microsecond resolution and saturation are the price of fitting in the engine's 64-bit result; the rendered
// bytes themselves are the files the agent wrote (their exact bytes are what the tests compare).
using System.Buffers.Binary;
using System.Text;

namespace Unjucks.Cli.Adapters;

/// <summary>Encodes and decodes processes-mode task payloads and results.</summary>
internal static class ProcessesTaskCodec
{
    /// <summary>Payload size in bytes.</summary>
    public const int PayloadBytes = 16;

    private const int AgentBits = 10;
    private const int ParseBits = 17;
    private const int TimeBits = 18;
    private const int ParseShift = AgentBits;
    private const int RenderShift = ParseShift + ParseBits;
    private const int WriteShift = RenderShift + TimeBits;

    /// <summary>The payload of template <paramref name="index"/> (id <paramref name="id"/>) in <paramref name="round"/>.</summary>
    public static byte[] EncodePayload(int round, int index, string id)
    {
        var bytes = new byte[PayloadBytes];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, round);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), index);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), IdHash(id));
        return bytes;
    }

    /// <summary>Reads a payload written by <see cref="EncodePayload"/>.</summary>
    /// <exception cref="InvalidDataException">The payload has another size.</exception>
    public static (int Round, int Index, ulong IdHash) DecodePayload(ReadOnlySpan<byte> payload)
    {
        if (payload.Length != PayloadBytes)
        {
            throw new InvalidDataException(
                $"a template task payload is {PayloadBytes} bytes (round, index, id hash); got {payload.Length}. The coordinator and the agent are different builds of unjucks-perf.");
        }

        return (BinaryPrimitives.ReadInt32LittleEndian(payload), BinaryPrimitives.ReadInt32LittleEndian(payload[4..]),
            BinaryPrimitives.ReadUInt64LittleEndian(payload[8..]));
    }

    /// <summary>FNV-1a, 64 bits, of the id's UTF-8 bytes.</summary>
    public static ulong IdHash(string id)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(id))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }

    /// <summary>The result of a task run by agent <paramref name="agent"/> with the given time split.</summary>
    public static long EncodeResult(int agent, TimeSpan parse, TimeSpan render, TimeSpan write)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(agent);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(agent, 1 << AgentBits);
        return (long)(uint)agent
            | (Micros(parse, ParseBits) << ParseShift)
            | (Micros(render, TimeBits) << RenderShift)
            | (Micros(write, TimeBits) << WriteShift);
    }

    /// <summary>Reads a result written by <see cref="EncodeResult"/>.</summary>
    public static (int Agent, TimeSpan Parse, TimeSpan Render, TimeSpan Write) DecodeResult(long result) => (
        (int)(result & ((1L << AgentBits) - 1)),
        TimeSpan.FromMicroseconds((result >> ParseShift) & ((1L << ParseBits) - 1)),
        TimeSpan.FromMicroseconds((result >> RenderShift) & ((1L << TimeBits) - 1)),
        TimeSpan.FromMicroseconds((result >> WriteShift) & ((1L << TimeBits) - 1)));

    private static long Micros(TimeSpan time, int bits) =>
        Math.Clamp((long)Math.Round(time.TotalMicroseconds), 0, (1L << bits) - 1);
}
