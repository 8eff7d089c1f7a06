// ProcessesTaskFailure: how a template's error crosses from an agent to the coordinator.
//
// The engine records a failed task as "<exception type name>: <message>", truncated to the region's value size
// (ProcessesJob sets 512 bytes). The agent throws TemplateTaskException whose message is
// "<kind>|<line>|<column>|<message>", and the coordinator turns it back into a TemplateError, so the report shows
// the same kind, line and message as in threads mode (a message cut by the size limit ends in what fitted). Any
// other exception (an I/O error reading a dependency's output, a payload from another build) is reported as a
// Render error carrying the agent's text.
using System.Globalization;
using Unjucks.Templates;

namespace Unjucks.Cli.Adapters;

/// <summary>A template error thrown by an agent's handler, in the form the coordinator decodes.</summary>
internal sealed class TemplateTaskException : Exception
{
    public TemplateTaskException(TemplateError error, Exception? inner = null)
        : base(ProcessesTaskFailure.Encode(error), inner)
    {
    }

    public TemplateTaskException()
    {
    }

    public TemplateTaskException(string message)
        : base(message)
    {
    }

    public TemplateTaskException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Encodes template errors for the engine's failure record and decodes them on the coordinator.</summary>
internal static class ProcessesTaskFailure
{
    private static readonly string Prefix = nameof(TemplateTaskException) + ": ";

    public static string Encode(TemplateError error) => string.Create(CultureInfo.InvariantCulture,
        $"{error.Kind}|{error.Line}|{error.Column}|{error.Message}");

    /// <summary>The error for <paramref name="templateId"/> from the engine's failure message.</summary>
    public static TemplateError Decode(string templateId, string engineMessage)
    {
        if (engineMessage.StartsWith(Prefix, StringComparison.Ordinal))
        {
            var parts = engineMessage[Prefix.Length..].Split('|', 4);
            if (parts.Length == 4 && Enum.TryParse<TemplateErrorKind>(parts[0], out var kind))
            {
                return new TemplateError(kind, templateId, parts[3], Int(parts[1]), Int(parts[2]));
            }
        }

        return new TemplateError(TemplateErrorKind.Render, templateId, $"the agent failed to render it: {engineMessage}");
    }

    private static int? Int(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
}
