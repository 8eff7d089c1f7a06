// The tool's three "please stop" signals, handled alike: SIGINT (Ctrl+C), SIGTERM (kill, systemd, a container
// stop) and SIGHUP (the terminal closed). The first one cancels the running command, which stops its agents,
// removes its session files and temporary outputs, and the tool exits 128 + the signal's number with one line on
// stderr. A second signal while that cleanup runs is not intercepted: its default action ends the process at once
// (agents die with it: their parent-death signal).
using System.Runtime.InteropServices;

namespace Unjucks.Cli;

/// <summary>Turns SIGINT, SIGTERM and SIGHUP into the cancellation of the running command; remembers which came first.</summary>
internal sealed class ShutdownSignals : IDisposable
{
    private readonly CancellationTokenSource _cancellation = new();
    private readonly PosixSignalRegistration[] _registrations;
    private int _received; // the Linux number of the first signal, 0 before any

    public ShutdownSignals()
    {
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle),
            PosixSignalRegistration.Create(PosixSignal.SIGHUP, Handle),
        ];
    }

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _cancellation.Token;

    /// <summary>The name of the first signal ("SIGTERM"), or null before any.</summary>
    public string? Received => Volatile.Read(ref _received) switch // pairs with the CompareExchange in Handle
    {
        0 => null,
        Sighup => "SIGHUP",
        Sigint => "SIGINT",
        _ => "SIGTERM",
    };

    /// <summary>128 + the first signal's number (130, 143 or 129); meaningful once <see cref="Received"/> is set.</summary>
    public int ExitCode => 128 + Volatile.Read(ref _received);

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _cancellation.Dispose();
    }

    private const int Sighup = 1, Sigint = 2, Sigterm = 15;

    private void Handle(PosixSignalContext context)
    {
        int number = context.Signal switch
        {
            PosixSignal.SIGHUP => Sighup,
            PosixSignal.SIGINT => Sigint,
            _ => Sigterm,
        };

        // Only the first signal is taken over; the CAS makes "first" exact when two arrive together.
        if (Interlocked.CompareExchange(ref _received, number, 0) == 0)
        {
            context.Cancel = true; // no default action: the command cleans up and returns
            _cancellation.Cancel();
        }
    }
}
