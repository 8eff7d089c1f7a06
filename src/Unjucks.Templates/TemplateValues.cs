using System.Globalization;
using System.Text;
using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace Unjucks.Templates;

/// <summary>
/// Template variables are plain, process-portable values: <see cref="string"/>, <see cref="bool"/>,
/// <see cref="long"/>, <see cref="double"/>, <see langword="null"/>, lists of them
/// (<see cref="List{T}"/> of object) and string-keyed maps (<see cref="Dictionary{TKey,TValue}"/> of string
/// to object). This class loads and normalises them (YAML, JSON, or values that went through
/// System.Text.Json on their way from another process).
/// </summary>
public static class TemplateValues
{
    /// <summary>Names the renderer defines itself; front matter and global variables may not use them.</summary>
    public static IReadOnlySet<string> ReservedNames { get; } = new HashSet<string>(StringComparer.Ordinal) { "deps", "dependencies", "template" };

    private static readonly IDeserializer Yaml = new DeserializerBuilder()
        .WithAttemptingUnquotedStringTypeDeserialization()
        .Build();

    /// <summary>
    /// Reads a global variables file: a YAML or JSON document (JSON is read as YAML) whose root is a map.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <returns>The variables, normalised.</returns>
    /// <exception cref="InvalidDataException">The file is not UTF-8, is empty, is not YAML/JSON, its root is not a map, or it uses a reserved name.</exception>
    public static IReadOnlyDictionary<string, object?> LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path, StrictUtf8);
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"{path}: not valid UTF-8 (byte {e.Index} of the first bad sequence); save it as UTF-8.", e);
        }

        return Parse(text, path);
    }

    /// <summary>UTF-8 that throws on invalid bytes instead of replacing them with U+FFFD.</summary>
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Parses a YAML or JSON map of variables (see <see cref="LoadFile"/>).</summary>
    /// <param name="text">The document.</param>
    /// <param name="what">Names the document in error messages (a path, "--vars").</param>
    /// <returns>The variables, normalised.</returns>
    /// <exception cref="InvalidDataException">The text is empty, is not YAML/JSON, its root is not a map, or it uses a reserved name.</exception>
    public static IReadOnlyDictionary<string, object?> Parse(string text, string what)
    {
        object? root;
        try
        {
            root = Yaml.Deserialize<object?>(text);
        }
        catch (YamlException e)
        {
            throw new InvalidDataException($"{what}: not valid YAML or JSON at line {e.Start.Line}, column {e.Start.Column}: {e.Message}", e);
        }

        if (root is null)
        {
            throw new InvalidDataException($"{what}: the document is empty; give a map of variable names to values ({{}} for none).");
        }

        if (Normalize(root) is not Dictionary<string, object?> map)
        {
            throw new InvalidDataException($"{what}: the root must be a map of variable names to values (got {root.GetType().Name}).");
        }

        CheckNotReserved(map.Keys, what);
        return map;
    }

    /// <summary>Throws when one of <paramref name="names"/> is reserved (<see cref="ReservedNames"/>).</summary>
    internal static void CheckNotReserved(IEnumerable<string> names, string what)
    {
        foreach (var name in names)
        {
            if (ReservedNames.Contains(name))
            {
                throw new InvalidDataException($"{what}: the variable name '{name}' is reserved (the renderer defines deps, dependencies and template); rename it.");
            }
        }
    }

    /// <summary>
    /// Converts a value from YamlDotNet, System.Text.Json or plain CLR collections into the portable
    /// form described on <see cref="TemplateValues"/>.
    /// </summary>
    /// <param name="value">The value.</param>
    /// <returns>The normalised value (a new collection for maps and lists).</returns>
    /// <exception cref="InvalidDataException">The value has a type templates cannot use.</exception>
    public static object? Normalize(object? value) => value switch
    {
        null => null,
        string or bool or long or double => value,
        int i => (long)i,
        short s => (long)s,
        byte b => (long)b,
        uint u => (long)u,
        ulong ul when ul <= long.MaxValue => (long)ul,
        float f => (double)f,
        decimal m => (double)m,
        JsonElement e => FromJson(e),
        System.Collections.IDictionary d => NormalizeMap(d),
        System.Collections.IEnumerable list => list.Cast<object?>().Select(Normalize).ToList(),
        _ => throw new InvalidDataException($"a template variable has the unsupported type {value.GetType().FullName}; use strings, numbers, booleans, null, lists or maps."),
    };

    private static Dictionary<string, object?> NormalizeMap(System.Collections.IDictionary d)
    {
        var map = new Dictionary<string, object?>(d.Count, StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in d)
        {
            var key = Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? "";
            map[key] = Normalize(entry.Value);
        }

        return map;
    }

    private static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out var l) ? l : e.GetDouble(),
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToList(),
        _ => e.EnumerateObject().ToDictionary(p => p.Name, p => FromJson(p.Value), StringComparer.Ordinal),
    };
}
