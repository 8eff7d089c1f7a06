// CRC32C (Castagnoli) of a key, used to place keys in the state table. Uses the x86 SSE4.2 crc32 instruction or
// the Arm CRC32 extension through System.Runtime.Intrinsics, 8 bytes at a time; BitOperations.Crc32C (a table
// driven software CRC when neither exists) is the portable fallback. All three produce the same value, which
// matters: processes on one machine must agree on every key's slot. The portable fallback is a plain
// table-driven CRC over the reflected polynomial 0x82F63B78.
using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;
using ArmCrc32 = System.Runtime.Intrinsics.Arm.Crc32;

namespace Unjucks.SharedMemory;

internal static class Crc32C
{
    internal static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        if (Sse42.X64.IsSupported)
        {
            while (data.Length >= 8)
            {
                crc = (uint)Sse42.X64.Crc32(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }

            foreach (byte b in data)
            {
                crc = Sse42.Crc32(crc, b);
            }
        }
        else if (ArmCrc32.Arm64.IsSupported)
        {
            while (data.Length >= 8)
            {
                crc = ArmCrc32.Arm64.ComputeCrc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }

            foreach (byte b in data)
            {
                crc = ArmCrc32.ComputeCrc32C(crc, b);
            }
        }
        else
        {
            return ComputePortable(data);
        }

        return ~crc;
    }

    private static readonly uint[] Table = BuildTable();

    /// <summary>The software path alone, so tests can check the hardware paths against it.</summary>
    internal static uint ComputePortable(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            }

            table[i] = c;
        }

        return table;
    }
}
