// How a task's input and output travel through its slot (SessionSegmentLayout):
//   input  = int32 length of each part (payload, then each dependency result in order), then the parts' bytes;
//            inline when it fits the slot's input area, else in the file <session>.in-<slot> (slot header flag).
//   output = the handler's result bytes, or a failure record: int32 type length, type (UTF-8), int32 message
//            length, message (UTF-8), then the stack trace (UTF-8, the rest); inline when it fits, else in the file
//            <session>.out-<slot>-<epoch>. The descriptor (length << 2 | spilled << 1 | failed) is the table
//            record's 64-bit result, published by the commit's Done CAS.
// Nothing is ever cut: a value that does not fit the slot goes through a file, whatever its size.
using System.Buffers.Binary;
using System.Text;
using Unjucks.SharedMemory.Sessions;

namespace Unjucks.Agents.Sessions.Transport;

internal static class SlotCodec
{
    internal readonly record struct Failure(string Type, string Message, string? StackTrace);

    /// <summary>Coordinator, slot Free (no agent can read it): writes the input, inline or spilled.</summary>
    internal static void WriteInput(SessionSegment segment, string prefix, int slot, ReadOnlyMemory<byte> payload, AgentTaskHandle[] dependencies)
    {
        int parts = 1 + dependencies.Length;
        long total = 4L * parts + payload.Length;
        foreach (var d in dependencies)
        {
            total += d.ResultBytes.Length;
        }

        bool spilled = total > segment.InlineBytes;
        if (!spilled)
        {
            WriteParts(segment.InputInline(slot), payload, dependencies);
        }
        else
        {
            if (total > int.MaxValue)
            {
                throw new ArgumentException($"A task's payload plus its dependencies' results add up to {total:N0} bytes; at most 2 GiB travel to one task.");
            }

            byte[] buffer = new byte[total];
            WriteParts(buffer, payload, dependencies);
            WriteFile(SessionFiles.InputSpill(prefix, slot), buffer);
        }

        segment.SlotInt(slot, SessionSegmentLayout.SlotPartCountOffset) = parts;
        segment.SlotLong(slot, SessionSegmentLayout.SlotInputBytesOffset) = total;
        segment.SlotInt(slot, SessionSegmentLayout.SlotInputSpilledOffset) = spilled ? 1 : 0;
    }

    /// <summary>Agent, holding the lease (the Place CAS published the input, our lease CAS acquired it): a copy of the parts.</summary>
    internal static ReadOnlyMemory<byte>[] ReadInput(SessionSegment segment, string prefix, int slot)
    {
        int parts = segment.SlotInt(slot, SessionSegmentLayout.SlotPartCountOffset);
        long total = segment.SlotLong(slot, SessionSegmentLayout.SlotInputBytesOffset);
        bool spilled = segment.SlotInt(slot, SessionSegmentLayout.SlotInputSpilledOffset) != 0;
        if (parts < 1 || total < 4L * parts || (!spilled && total > segment.InlineBytes) || total > int.MaxValue)
        {
            throw new Unjucks.SharedMemory.SharedRegionFormatException($"Slot {slot} holds an impossible input ({parts} parts, {total} bytes); the session file is damaged.");
        }

        byte[] bytes = spilled ? File.ReadAllBytes(SessionFiles.InputSpill(prefix, slot)) : segment.InputInline(slot)[..(int)total].ToArray();
        if (bytes.Length != total)
        {
            throw new IOException($"Input file of slot {slot} holds {bytes.Length} bytes, its slot says {total}.");
        }

        var result = new ReadOnlyMemory<byte>[parts];
        int at = 4 * parts;
        for (int i = 0; i < parts; i++)
        {
            int length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4 * i));
            if (length < 0 || length > bytes.Length - at)
            {
                throw new Unjucks.SharedMemory.SharedRegionFormatException($"Slot {slot}'s input part {i} claims {length} bytes; the input is damaged.");
            }

            result[i] = new ReadOnlyMemory<byte>(bytes, at, length);
            at += length;
        }

        return result;
    }

    /// <summary>Agent, between BeginCommit and Finish: writes the output; returns the descriptor to commit.</summary>
    internal static long WriteOutput(SessionSegment segment, string prefix, int slot, long epoch, ReadOnlySpan<byte> output, bool failed)
    {
        bool spilled = output.Length > segment.InlineBytes;
        if (spilled)
        {
            WriteFile(SessionFiles.OutputSpill(prefix, slot, epoch), output);
        }
        else
        {
            output.CopyTo(segment.OutputInline(slot));
        }

        return ((long)output.Length << 2) | (spilled ? 2L : 0L) | (failed ? 1L : 0L);
    }

    /// <summary>Coordinator, after seeing Done: the output bytes (the spill file is deleted).</summary>
    internal static byte[] ReadOutput(SessionSegment segment, string prefix, int slot, long epoch, long descriptor, out bool failed)
    {
        failed = (descriptor & 1) != 0;
        bool spilled = (descriptor & 2) != 0;
        long length = descriptor >>> 2;
        if (!spilled)
        {
            if (length > segment.InlineBytes)
            {
                throw new Unjucks.SharedMemory.SharedRegionFormatException($"Slot {slot} claims an inline output of {length} bytes; the session file is damaged.");
            }

            return length == 0 ? [] : segment.OutputInline(slot)[..(int)length].ToArray();
        }

        string path = SessionFiles.OutputSpill(prefix, slot, epoch);
        byte[] bytes = File.ReadAllBytes(path);
        File.Delete(path);
        if (bytes.Length != length)
        {
            throw new IOException($"Output file '{path}' holds {bytes.Length} bytes, its commit says {length}.");
        }

        return bytes;
    }

    internal static byte[] EncodeFailure(Exception exception)
    {
        byte[] type = Encoding.UTF8.GetBytes(exception.GetType().FullName ?? exception.GetType().Name);
        byte[] message = Encoding.UTF8.GetBytes(exception.Message);
        byte[] stack = Encoding.UTF8.GetBytes(exception.StackTrace ?? "");
        byte[] all = new byte[8 + type.Length + message.Length + stack.Length];
        BinaryPrimitives.WriteInt32LittleEndian(all, type.Length);
        type.CopyTo(all, 4);
        BinaryPrimitives.WriteInt32LittleEndian(all.AsSpan(4 + type.Length), message.Length);
        message.CopyTo(all, 8 + type.Length);
        stack.CopyTo(all, 8 + type.Length + message.Length);
        return all;
    }

    internal static Failure DecodeFailure(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 8)
        {
            return new Failure("Unknown", "The agent reported a failure record of " + bytes.Length + " bytes.", null);
        }

        int typeLength = BinaryPrimitives.ReadInt32LittleEndian(bytes);
        if (typeLength < 0 || typeLength > bytes.Length - 8)
        {
            return new Failure("Unknown", "The agent reported a damaged failure record.", null);
        }

        int messageLength = BinaryPrimitives.ReadInt32LittleEndian(bytes[(4 + typeLength)..]);
        if (messageLength < 0 || messageLength > bytes.Length - 8 - typeLength)
        {
            return new Failure("Unknown", "The agent reported a damaged failure record.", null);
        }

        string type = Encoding.UTF8.GetString(bytes.Slice(4, typeLength));
        string message = Encoding.UTF8.GetString(bytes.Slice(8 + typeLength, messageLength));
        var stack = bytes[(8 + typeLength + messageLength)..];
        return new Failure(type, message, stack.IsEmpty ? null : Encoding.UTF8.GetString(stack));
    }

    private static void WriteParts(Span<byte> into, ReadOnlyMemory<byte> payload, AgentTaskHandle[] dependencies)
    {
        int parts = 1 + dependencies.Length;
        BinaryPrimitives.WriteInt32LittleEndian(into, payload.Length);
        for (int i = 0; i < dependencies.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(into[(4 * (i + 1))..], dependencies[i].ResultBytes.Length);
        }

        int at = 4 * parts;
        payload.Span.CopyTo(into[at..]);
        at += payload.Length;
        foreach (var d in dependencies)
        {
            d.ResultBytes.Span.CopyTo(into[at..]);
            at += d.ResultBytes.Length;
        }
    }

    private static void WriteFile(string path, ReadOnlySpan<byte> bytes)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Agent sessions need Linux (/dev/shm, futex, prctl).");
        }

        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            Share = FileShare.None,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using var stream = new FileStream(path, options);
        stream.Write(bytes);
    }
}
