namespace Unjucks.Benchmarks;

/// <summary>
/// Adds <c>--inProcess</c> to the command line when the benchmarks cannot build child projects: when
/// running as a published single file (no SDK beside it, and no assembly file on disk) or when
/// <c>UNJUCKS_BENCH_INPROCESS=1</c> is set. An explicit <c>--inProcess</c>/<c>-i</c> is left alone.
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

    private static bool IsInProcessFlag(string arg) =>
        arg.Equals("--inProcess", StringComparison.OrdinalIgnoreCase) || arg == "-i";
}
