// A render task on the wire. Payload: (round, template index), 8 bytes. Result, one record per task, success or
// not, so a template's failure is data (kind, message, line, column) that its dependents and the report read as
// it is, with no parsing of exception text:
//   status 0 (rendered): agent, output path, bytes written, parse, render and write time (ticks; no saturation);
//   status 1 (failed):   agent, error kind, message, line (-1: none), column (-1: none).
using System.Buffers.Binary;
using System.Text;

namespace Unjucks.Templates.Jobs;

/// <summary>One task's outcome as an agent reports it.</summary>
internal sealed record RenderTaskResult(int Agent, string? OutputPath, long Bytes, TemplateTimings Timings, TemplateError? Error)
{
    internal bool Rendered => Error is null;
}

internal static class RenderTaskCodec
{
    internal static byte[] Payload(int round, int template)
    {
        var p = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(p, round);
        BinaryPrimitives.WriteInt32LittleEndian(p.AsSpan(4), template);
        return p;
    }

    /// <exception cref="InvalidDataException">Not 8 bytes.</exception>
    internal static (int Round, int Template) ReadPayload(ReadOnlySpan<byte> payload) => payload.Length == 8
        ? (BinaryPrimitives.ReadInt32LittleEndian(payload), BinaryPrimitives.ReadInt32LittleEndian(payload[4..]))
        : throw new InvalidDataException($"a render task's payload is 8 bytes, not {payload.Length}.");

    internal static byte[] Encode(RenderTaskResult result)
    {
        using var stream = new MemoryStream(64);
        using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(result.Error is null ? (byte)0 : (byte)1);
            w.Write(result.Agent);
            if (result.Error is { } e)
            {
                w.Write((int)e.Kind);
                w.Write(e.TemplateId);
                w.Write(e.Message);
                w.Write(e.Line ?? -1);
                w.Write(e.Column ?? -1);
            }
            else
            {
                w.Write(result.OutputPath ?? "");
                w.Write(result.Bytes);
                w.Write(result.Timings.Parse.Ticks);
                w.Write(result.Timings.Render.Ticks);
                w.Write(result.Timings.Write.Ticks);
            }
        }

        return stream.ToArray();
    }

    /// <exception cref="InvalidDataException">Not a result record.</exception>
    internal static RenderTaskResult Decode(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            using var stream = new MemoryStream(bytes.ToArray(), writable: false);
            using var r = new BinaryReader(stream, Encoding.UTF8);
            byte status = r.ReadByte();
            int agent = r.ReadInt32();
            if (status == 1)
            {
                var kind = (TemplateErrorKind)r.ReadInt32();
                string id = r.ReadString();
                string message = r.ReadString();
                int line = r.ReadInt32();
                int column = r.ReadInt32();
                return new RenderTaskResult(agent, null, 0, default, new TemplateError(kind, id, message, line < 0 ? null : line, column < 0 ? null : column));
            }

            string path = r.ReadString();
            long size = r.ReadInt64();
            var timings = new TemplateTimings(TimeSpan.Zero, TimeSpan.FromTicks(r.ReadInt64()), TimeSpan.FromTicks(r.ReadInt64()), TimeSpan.FromTicks(r.ReadInt64()));
            return new RenderTaskResult(agent, path, size, timings, null);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("a render task's result record is cut short.", e);
        }
    }
}
