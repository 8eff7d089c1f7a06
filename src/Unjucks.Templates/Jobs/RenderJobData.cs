// The session data of a render job: everything an agent needs to render any task of it, sent once through
// AgentSessionOptions.SessionData, so agents neither discover the tree again nor read the variables file:
//   version, strict, durable, rounds, output folder, claims folder, limits, global variables (a tagged tree: the
//   portable values of TemplateValues, exact, so a double stays a double), then each template as (id, source
//   path, syntax, whole text). Agents rebuild the TemplateSources from the texts (front matter and body split
//   again: cheap, and the same code as discovery) and parse each template once, when it is first rendered.
using System.Text;

namespace Unjucks.Templates.Jobs;

internal sealed record RenderJobData(
    bool Strict,
    bool Durable,
    int Rounds,
    string OutputDirectory,
    string ClaimsDirectory,
    RenderLimits Limits,
    IReadOnlyDictionary<string, object?> Globals,
    IReadOnlyList<TemplateSource> Templates)
{
    private const int Version = 1;

    internal byte[] Encode()
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Version);
            w.Write(Strict);
            w.Write(Durable);
            w.Write(Rounds);
            w.Write(OutputDirectory);
            w.Write(ClaimsDirectory);
            w.Write(Limits.Timeout.Ticks);
            w.Write(Limits.MaxOutputBytes);
            w.Write(Limits.MaxLoopSteps);
            WriteValue(w, Globals);
            w.Write(Templates.Count);
            foreach (var t in Templates)
            {
                w.Write(t.Id);
                w.Write(t.SourcePath);
                w.Write((byte)t.Syntax);
                w.Write(t.Text);
            }
        }

        return stream.ToArray();
    }

    /// <exception cref="InvalidDataException">Not the session data of a render job of this version.</exception>
    internal static RenderJobData Decode(ReadOnlyMemory<byte> data)
    {
        try
        {
            using var stream = new MemoryStream(data.ToArray(), writable: false);
            using var r = new BinaryReader(stream, Encoding.UTF8);
            int version = r.ReadInt32();
            if (version != Version)
            {
                throw new InvalidDataException($"the session data is version {version} of a render job; this agent reads version {Version}. Run the job with one build of the tool.");
            }

            bool strict = r.ReadBoolean();
            bool durable = r.ReadBoolean();
            int rounds = r.ReadInt32();
            string output = r.ReadString();
            string claims = r.ReadString();
            var limits = new RenderLimits { Timeout = TimeSpan.FromTicks(r.ReadInt64()), MaxOutputBytes = r.ReadInt64(), MaxLoopSteps = r.ReadInt32() };
            var globals = (Dictionary<string, object?>)ReadValue(r)!;
            int count = r.ReadInt32();
            var templates = new TemplateSource[count];
            for (int i = 0; i < count; i++)
            {
                string id = r.ReadString();
                string path = r.ReadString();
                var syntax = (TemplateSyntax)r.ReadByte();
                templates[i] = TemplateSource.FromText(id, r.ReadString(), path, syntax);
            }

            return new RenderJobData(strict, durable, rounds, output, claims, limits, globals, templates);
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidCastException or ArgumentException or TemplateException)
        {
            throw new InvalidDataException("the session data is not a render job's: " + e.Message, e);
        }
    }

    private static void WriteValue(BinaryWriter w, object? value)
    {
        switch (value)
        {
            case null:
                w.Write((byte)0);
                break;
            case string s:
                w.Write((byte)1);
                w.Write(s);
                break;
            case bool b:
                w.Write((byte)2);
                w.Write(b);
                break;
            case long l:
                w.Write((byte)3);
                w.Write(l);
                break;
            case double d:
                w.Write((byte)4);
                w.Write(d);
                break;
            case IReadOnlyDictionary<string, object?> map:
                w.Write((byte)5);
                w.Write(map.Count);
                foreach (var (k, v) in map)
                {
                    w.Write(k);
                    WriteValue(w, v);
                }

                break;
            case IEnumerable<object?> list:
                var items = list.ToList();
                w.Write((byte)6);
                w.Write(items.Count);
                foreach (var item in items)
                {
                    WriteValue(w, item);
                }

                break;
            default:
                throw new ArgumentException($"a global variable has the type {value.GetType().Name}, which is not a portable value (TemplateValues.Normalize first).");
        }
    }

    private static object? ReadValue(BinaryReader r)
    {
        switch (r.ReadByte())
        {
            case 0: return null;
            case 1: return r.ReadString();
            case 2: return r.ReadBoolean();
            case 3: return r.ReadInt64();
            case 4: return r.ReadDouble();
            case 5:
                int n = r.ReadInt32();
                var map = new Dictionary<string, object?>(n, StringComparer.Ordinal);
                for (int i = 0; i < n; i++)
                {
                    string key = r.ReadString();
                    map[key] = ReadValue(r);
                }

                return map;
            case 6:
                int m = r.ReadInt32();
                var list = new List<object?>(m);
                for (int i = 0; i < m; i++)
                {
                    list.Add(ReadValue(r));
                }

                return list;
            case var tag:
                throw new InvalidDataException($"unknown value tag {tag}.");
        }
    }
}
