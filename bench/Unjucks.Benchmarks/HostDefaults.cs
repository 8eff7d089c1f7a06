using System.ComponentModel;
using System.Diagnostics;

namespace Unjucks.Benchmarks;

/// <summary>
/// Adds <c>--inProcess</c> to the command line when the benchmarks cannot build child projects: when
/// running as a published single file (no SDK beside it, and no assembly file on disk) or when
/// <c>UNJUCKS_BENCH_INPROCESS=1</c> is set. An explicit <c>--inProcess</c>/<c>-i</c> is left alone.
/// For in-process runs it also raises this process's priority, as BenchmarkDotNet does for its child
/// processes (see <see cref="RaisePriorityForInProcess"/>).
/// </summary>
internal static class HostDefaults
{
    /// <summary>Environment variable that forces the in-process toolchain.</summary>
    public const string InProcessVariable = "UNJUCKS_BENCH_INPROCESS";

    /// <summary>True when this assembly was loaded from a single-file bundle.</summary>
    public static bool IsSingleFile
    {
        get
        {
            // IL3000: Location is "" inside a single-file bundle, which is exactly what is tested here.
#pragma warning disable IL3000
            return string.IsNullOrEmpty(typeof(HostDefaults).Assembly.Location);
#pragma warning restore IL3000
        }
    }

    /// <summary>Returns <paramref name="args"/>, with <c>--inProcess</c> added where needed.</summary>
    public static string[] Apply(string[] args)
    {
        bool forced = Environment.GetEnvironmentVariable(InProcessVariable) == "1";
        if (!(IsSingleFile || forced) || args.Any(IsInProcessFlag))
        {
            return args;
        }

        Console.Error.WriteLine(
            $"Unjucks.Benchmarks: {(forced ? InProcessVariable + "=1" : "single-file run")}, adding --inProcess " +
            "(benchmarks run in this process; no SDK needed).");
        return ["--inProcess", .. args];
    }

    /// <summary>
    /// BenchmarkDotNet runs each out-of-process benchmark at <see cref="ProcessPriorityClass.High"/> where
    /// it is allowed (root on Linux: nice -11), which keeps measurements steady while other work shares the
    /// machine. In-process it does not touch the host's priority, so an in-process run (the published file)
    /// would compete on equal terms with everything else. This does the same for the host, before any
    /// benchmark thread exists (Linux threads take their nice value from the thread that creates them).
    /// Without the permission it says so and goes on.
    /// </summary>
    public static void RaisePriorityForInProcess(string[] args)
    {
        if (!args.Any(IsInProcessFlag))
        {
            return;
        }

        try
        {
            using var self = Process.GetCurrentProcess();
            self.PriorityClass = ProcessPriorityClass.High;
        }
        catch (Exception e) when (e is Win32Exception or PlatformNotSupportedException or InvalidOperationException)
        {
            Console.Error.WriteLine(
                $"Unjucks.Benchmarks: could not raise the process priority ({e.Message}); measuring at normal priority. " +
                "On a busy machine run as root (or with CAP_SYS_NICE) for steadier numbers.");
        }
    }

    private static bool IsInProcessFlag(string arg) =>
        arg.Equals("--inProcess", StringComparison.OrdinalIgnoreCase) || arg == "-i";
}
