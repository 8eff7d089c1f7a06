using System.Text.Json;
using System.Text.Json.Serialization;

namespace Unjucks.Cli.Scaling;

/// <summary>Writes <c>scaling.json</c>: the report with camelCase names; efficiency is a fraction (1.0 = linear).</summary>
internal static class ScalingJson
{
    public static string Render(ScalingReport report) =>
        JsonSerializer.Serialize(report, ScalingJsonContext.Default.ScalingReport);
}

/// <summary>Source-generated serializer for the report (no reflection at run time).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(ScalingReport))]
internal sealed partial class ScalingJsonContext : JsonSerializerContext;
