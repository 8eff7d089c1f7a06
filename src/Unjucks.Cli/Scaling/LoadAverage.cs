using System.Globalization;

namespace Unjucks.Cli.Scaling;

/// <summary>The machine's 1-minute load average (<c>/proc/loadavg</c>): how busy the machine was around a measurement.</summary>
internal static class LoadAverage
{
    /// <summary>The current 1-minute load average, or null where <c>/proc/loadavg</c> cannot be read.</summary>
    public static double? OneMinute()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ', 2)[0];
            return double.TryParse(first, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
