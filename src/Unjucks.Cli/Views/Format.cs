using System.Globalization;

namespace Unjucks.Cli.Views;

/// <summary>Number formatting shared by every view and report (invariant culture, units chosen for reading).</summary>
internal static class Format
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>A duration in the unit that keeps 1-4 significant digits: "850 ns", "12.3 µs", "4.56 ms", "2.10 s".</summary>
    public static string Duration(TimeSpan value)
    {
        var ticks = value.Ticks;
        if (ticks < 0)
        {
            return "-" + Duration(value.Negate());
        }

        var microseconds = value.TotalMicroseconds;
        if (microseconds < 1)
        {
            return string.Create(Invariant, $"{value.TotalNanoseconds:0} ns");
        }

        if (microseconds < 1000)
        {
            return string.Create(Invariant, $"{microseconds:0.0} µs");
        }

        if (value.TotalMilliseconds < 1000)
        {
            return string.Create(Invariant, $"{value.TotalMilliseconds:0.00} ms");
        }

        return string.Create(Invariant, $"{value.TotalSeconds:0.00} s");
    }

    /// <summary>Elapsed time as "12.3s" for progress lines.</summary>
    public static string Elapsed(TimeSpan value) => string.Create(Invariant, $"{value.TotalSeconds,6:0.0}s");

    /// <summary>Bytes as mebibytes with one decimal, labelled MB as in the seed's table.</summary>
    public static string Megabytes(long bytes) => Megabytes(bytes / (1024.0 * 1024.0));

    /// <summary>Mebibytes with one decimal.</summary>
    public static string Megabytes(double megabytes) => string.Create(Invariant, $"{megabytes:0.0} MB");

    /// <summary>Operations per second with one decimal.</summary>
    public static string Rate(double operationsPerSecond) => string.Create(Invariant, $"{operationsPerSecond:0.0}");

    /// <summary>A fraction 0..1 as a percentage with one decimal: 0.944 -> "94.4%".</summary>
    public static string Percent(double fraction) => string.Create(Invariant, $"{fraction * 100:0.0}%");

    /// <summary>A value already in percent with two decimals: 3.2 -> "3.20%".</summary>
    public static string PercentValue(double percent) => string.Create(Invariant, $"{percent:0.00}%");

    /// <summary>A plain number with three decimals (coefficients of variation).</summary>
    public static string Ratio(double value) => string.Create(Invariant, $"{value:0.000}");

    /// <summary>An integer with thousands separators.</summary>
    public static string Count(long value) => value.ToString("N0", Invariant);
}
