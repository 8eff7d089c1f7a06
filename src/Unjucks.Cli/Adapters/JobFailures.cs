using System.Globalization;
using Unjucks.Cli.Engine;
using Unjucks.Templates;

namespace Unjucks.Cli.Adapters;

/// <summary>The failure lines of a job's summary, the same in threads and processes mode.</summary>
internal static class JobFailures
{
    /// <summary>One line per failed template (path relative to its template directory); repeats across rounds merged.</summary>
    public static List<TemplateFailure> From(JobReport report, int rounds, IReadOnlyList<string> roots)
    {
        var seen = new Dictionary<(string Template, string Message), int>();
        var order = new List<(string Template, string Message)>();
        foreach (var outcome in report.Failures)
        {
            var key = (RelativePath(outcome, roots), Describe(outcome));
            if (seen.TryGetValue(key, out var count))
            {
                seen[key] = count + 1;
            }
            else
            {
                seen.Add(key, 1);
                order.Add(key);
            }
        }

        return order.Select(k => new TemplateFailure(k.Template, rounds == 1
            ? k.Message
            : string.Create(CultureInfo.InvariantCulture, $"{k.Message} (in {seen[k]} of {rounds} rounds)"))).ToList();
    }

    private static string Describe(TemplateOutcome outcome)
    {
        if (outcome.Error is not { } error)
        {
            return outcome.Status.ToString();
        }

        var where = error.Line is int line
            ? (error.Column is int column ? string.Create(CultureInfo.InvariantCulture, $" (line {line}, column {column})") : string.Create(CultureInfo.InvariantCulture, $" (line {line})"))
            : string.Empty;
        return $"{error.Kind}{where}: {error.Message}";
    }

    private static string RelativePath(TemplateOutcome outcome, IReadOnlyList<string> roots)
    {
        if (string.IsNullOrEmpty(outcome.SourcePath))
        {
            return outcome.Id;
        }

        foreach (var root in roots)
        {
            var full = Path.GetFullPath(root);
            if (outcome.SourcePath.StartsWith(full.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                return Path.GetRelativePath(full, outcome.SourcePath).Replace(Path.DirectorySeparatorChar, '/');
            }
        }

        return outcome.Id;
    }
}
