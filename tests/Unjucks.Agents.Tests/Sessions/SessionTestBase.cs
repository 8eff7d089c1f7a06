using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Unjucks.TestSupport;

namespace Unjucks.Agents.Tests.Sessions;

/// <summary>Shared set-up of the tests that run an <see cref="AgentSession"/> over real tests/Unjucks.SessionTestAgent
/// processes: a private folder per test (removed afterwards, and asserted empty after the session), payload builders.</summary>
public abstract class SessionTestBase
{
    protected string Dir { get; private set; } = "";

    [SetUp]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void CreateDirectory()
    {
        Dir = Path.Combine("/dev/shm", $"unjucks-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [TearDown]
    public void RemoveDirectory()
    {
        if (Directory.Exists(Dir))
        {
            Directory.Delete(Dir, recursive: true);
        }
    }

    protected static ProcessStartInfo AgentProgram(IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = ChildProcess.StartInfo("Unjucks.SessionTestAgent", []);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        return psi;
    }

    protected AgentSessionOptions Options(int agents, IReadOnlyDictionary<string, string>? environment = null) => new()
    {
        Agents = agents,
        Directory = Dir,
        AgentProcess = AgentProgram(environment),
    };

    protected void AssertNothingLeft() =>
        Assert.That(Directory.EnumerateFileSystemEntries(Dir), Is.Empty, "the session left files behind");

    protected static byte[] Op(char op, string rest = "") => [(byte)op, .. Encoding.UTF8.GetBytes(rest)];

    protected static byte[] Op(char op, byte arg, string rest = "") => [(byte)op, arg, .. Encoding.UTF8.GetBytes(rest)];

    protected static byte[] SizeOp(int size, int seed)
    {
        var p = new byte[9];
        p[0] = (byte)'S';
        BinaryPrimitives.WriteInt32LittleEndian(p.AsSpan(1), size);
        BinaryPrimitives.WriteInt32LittleEndian(p.AsSpan(5), seed);
        return p;
    }

    protected static byte[] SleepOp(int milliseconds)
    {
        var p = new byte[5];
        p[0] = (byte)'L';
        BinaryPrimitives.WriteInt32LittleEndian(p.AsSpan(1), milliseconds);
        return p;
    }

    /// <summary>The bytes the agent's 'S' op returns (the agent program's own generator, a linked file).</summary>
    protected static byte[] Pattern(int size, int seed) => Unjucks.SessionTestAgent.TestPattern.Of(size, seed);

    protected static string Text(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);

    protected static CancellationToken Guard(int seconds = 120) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;
}
