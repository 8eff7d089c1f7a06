// What both fuzzers share: a watchdog that ends the process (exit 4, "hang <case>/<call>") when one call runs past
// 10 s, and the bookkeeping of every call: returned, typed exception (the types the caller names), or untyped
// (anything else; the first 10 are kept with their messages), the slowest call, and calls over 100 ms by name.
using System.Diagnostics;
using System.Globalization;

internal sealed class FuzzHarness
{
    private static readonly TimeSpan Watchdog = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Slow = TimeSpan.FromMilliseconds(100);

    private readonly Func<Exception, bool> _isTyped;
    private readonly List<string> _untypedSamples = [];
    private readonly Dictionary<string, int> _slowCalls = new(StringComparer.Ordinal);
    private long _calls, _ok, _typed, _untyped, _slowestTicks;
    private string _slowest = "-";
    private string _current = "start";
    private long _callStarted;

    /// <summary>Starts the watchdog. <paramref name="isTyped"/> says which exceptions are the documented ones.</summary>
    internal FuzzHarness(Func<Exception, bool> isTyped)
    {
        _isTyped = isTyped;
        var watchdog = new Thread(() =>
        {
            while (true)
            {
                Thread.Sleep(200);
                long started = Volatile.Read(ref _callStarted); // written by the fuzzing thread around each call
                if (started != 0 && Stopwatch.GetElapsedTime(started) > Watchdog)
                {
                    Console.WriteLine($"hang {Volatile.Read(ref _current)}");
                    Console.Out.Flush();
                    Environment.Exit(4);
                }
            }
        }) { IsBackground = true };
        watchdog.Start();
    }

    /// <summary>Runs one call of case <paramref name="c"/> under the watchdog and counts how it ended.</summary>
    internal void Call(int c, string what, Action action)
    {
        Volatile.Write(ref _current, $"{c}/{what}"); // read by the watchdog thread
        long start = Stopwatch.GetTimestamp();
        Volatile.Write(ref _callStarted, start); // read by the watchdog thread
        _calls++;
        try
        {
            action();
            _ok++;
        }
        catch (Exception e) when (_isTyped(e))
        {
            _typed++;
        }
        catch (Exception e)
        {
            _untyped++;
            if (_untypedSamples.Count < 10)
            {
                _untypedSamples.Add($"untyped {c}/{what}: {e.GetType().Name}: {e.Message}");
            }
        }
        finally
        {
            Volatile.Write(ref _callStarted, 0); // read by the watchdog thread
            long ticks = Stopwatch.GetTimestamp() - start;
            if (Stopwatch.GetElapsedTime(0, ticks) > Slow)
            {
                _slowCalls[what] = _slowCalls.GetValueOrDefault(what) + 1;
            }

            if (ticks > _slowestTicks)
            {
                _slowestTicks = ticks;
                _slowest = $"{c}/{what}";
            }
        }
    }

    /// <summary>Prints the summary line ("<paramref name="mode"/> cases N calls C ok O typed T untyped U slowest-ms S
    /// slowest X"), the slow calls and the untyped samples.</summary>
    internal void Report(string mode, int cases)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{mode} cases {cases} calls {_calls} ok {_ok} typed {_typed} untyped {_untyped} slowest-ms {Stopwatch.GetElapsedTime(0, _slowestTicks).TotalMilliseconds:F1} slowest {_slowest}"));
        Console.WriteLine("slow " + string.Join(", ", _slowCalls.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}")));
        foreach (string sample in _untypedSamples)
        {
            Console.WriteLine(sample);
        }
    }
}
