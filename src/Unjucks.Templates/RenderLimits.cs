using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Unjucks.Templates;

/// <summary>
/// What one template's render may take before it is that template's error (kind <see cref="TemplateErrorKind.Limit"/>)
/// instead of the agent's crash or the job's hang. Each limit is checked while rendering, cooperatively: nesting
/// before the parse, output size and time on every write, loop steps by Fluid.
/// </summary>
public sealed record RenderLimits
{
    /// <summary>The default limits.</summary>
    public static RenderLimits Default { get; } = new();

    /// <summary>Blocks (<c>if</c>, <c>for</c>, <c>case</c>, <c>capture</c>...) nested deeper than this are refused before
    /// parsing: Fluid's parser and renderer recurse once per level, and a few hundred levels overflow a thread's stack.</summary>
    public const int MaxNestingDepth = 100;

    /// <summary>Time one render (its <c>to:</c> and body) may take (default 10 s). Checked at every write, so a loop
    /// that writes nothing is bounded by <see cref="MaxLoopSteps"/> instead.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Largest output, in UTF-8 bytes (default 64 MiB).</summary>
    public long MaxOutputBytes { get; init; } = 64L << 20;

    /// <summary>Loop iterations (all loops of one render together) before Fluid stops it (default 10,000,000).</summary>
    public int MaxLoopSteps { get; init; } = 10_000_000;

    internal void Validate()
    {
        if (Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Timeout), Timeout, "the template timeout must be positive.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOutputBytes, 1, nameof(MaxOutputBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLoopSteps, 1, nameof(MaxLoopSteps));
    }
}

/// <summary>Block nesting of a Liquid text, counted on its tags without parsing (so a hostile depth cannot overflow anything).</summary>
internal static partial class NestingDepth
{
    private static readonly HashSet<string> Openers = new(StringComparer.Ordinal) { "if", "unless", "for", "case", "capture", "tablerow", "comment", "raw" };

    /// <summary>The deepest nesting of <paramref name="text"/> (0 for none; unbalanced tags count as written).</summary>
    internal static int Of(string text)
    {
        int depth = 0;
        int max = 0;
        bool inRaw = false;
        foreach (Match m in TagName().Matches(text))
        {
            string name = m.Groups[1].Value;
            if (inRaw)
            {
                if (name is "endraw" or "endcomment")
                {
                    inRaw = false;
                    depth--;
                }

                continue;
            }

            if (Openers.Contains(name))
            {
                depth++;
                max = Math.Max(max, depth);
                inRaw = name is "raw" or "comment";
            }
            else if (name.StartsWith("end", StringComparison.Ordinal) && Openers.Contains(name[3..]))
            {
                depth = Math.Max(0, depth - 1);
            }
        }

        return max;
    }

    [GeneratedRegex(@"\{%-?\s*(\w+)")]
    private static partial Regex TagName();
}

/// <summary>The text writer a render writes into: refuses to grow past the output limit or run past the deadline.</summary>
internal sealed class BoundedTextWriter(long maxBytes, long deadlineTimestamp) : StringWriter(System.Globalization.CultureInfo.InvariantCulture)
{
    private long _bytes;

    public override void Write(char value)
    {
        Check(value < 0x80 ? 1 : 3);
        base.Write(value);
    }

    public override void Write(char[] buffer, int index, int count)
    {
        Check(Encoding.UTF8.GetByteCount(buffer, index, count));
        base.Write(buffer, index, count);
    }

    public override void Write(ReadOnlySpan<char> buffer)
    {
        Check(Encoding.UTF8.GetByteCount(buffer));
        base.Write(buffer);
    }

    public override void Write(string? value)
    {
        if (value is not null)
        {
            Check(Encoding.UTF8.GetByteCount(value));
            base.Write(value);
        }
    }

    private void Check(int bytes)
    {
        _bytes += bytes;
        if (_bytes > maxBytes)
        {
            throw new RenderLimitException($"its output passed the {Format.Bytes(maxBytes)} limit (--max-output); raise the limit or make the output smaller.");
        }

        if (Stopwatch.GetTimestamp() > deadlineTimestamp)
        {
            throw new RenderLimitException("its render ran past the time limit (--template-timeout); look for an endless or huge loop, or raise the limit.");
        }
    }
}

/// <summary>A render limit was hit (turned into the template's <see cref="TemplateErrorKind.Limit"/> error).</summary>
internal sealed class RenderLimitException(string message) : Exception(message);

/// <summary>Sizes for messages.</summary>
internal static class Format
{
    internal static string Bytes(long bytes) => bytes >= 1 << 20 && bytes % (1 << 20) == 0
        ? $"{bytes >> 20} MiB"
        : bytes >= 1024 && bytes % 1024 == 0 ? $"{bytes >> 10} KiB" : $"{bytes} B";
}
