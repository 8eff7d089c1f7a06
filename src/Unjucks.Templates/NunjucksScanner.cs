// A deliberately small tokenizer, not a Nunjucks parser: it finds the tags ({{ }}, {% %}, {# #}), skips
// raw/comment blocks and string literals, and matches known Nunjucks-only forms inside each tag.
// Known gaps: a construct split across an unusual tag layout (a '}}' inside a string literal ends the tag
// early) may go unreported, in which case Fluid's own parse error still fails the template.
using System.Text.RegularExpressions;

namespace Unjucks.Templates;

/// <summary>One Nunjucks-only construct found in a template body.</summary>
/// <param name="Construct">The construct as written, e.g. <c>{% set %}</c>.</param>
/// <param name="Advice">What to write in Liquid instead.</param>
/// <param name="Line">1-based file line of the tag that holds it.</param>
/// <param name="Column">1-based column of that tag.</param>
public sealed record NunjucksConstruct(string Construct, string Advice, int Line, int Column);

/// <summary>
/// Finds Nunjucks constructs that Liquid (Fluid) lacks, before Fluid parses the body, so that they are
/// reported by name instead of rendering wrongly ({# #} comments print as text, unknown filters would be
/// skipped, loop.index is empty) or failing with a generic parse error. It tokenises the body into
/// <c>{{ }}</c>, <c>{% %}</c> and <c>{# #}</c> tags (skipping raw and comment blocks) and checks each tag;
/// string literals are blanked first so that their contents never match.
/// </summary>
internal static partial class NunjucksScanner
{
    private static readonly Dictionary<string, string> Tags = new(StringComparer.Ordinal)
    {
        ["set"] = "use {% assign name = value %} (or {% capture name %}...{% endcapture %} for a block)",
        ["endset"] = "use {% capture name %}...{% endcapture %}",
        ["macro"] = "Liquid has no macros; put the markup in another template and use it as a dependency (deps.<key>.output)",
        ["endmacro"] = "Liquid has no macros",
        ["call"] = "Liquid has no macros or {% call %}",
        ["endcall"] = "Liquid has no macros or {% call %}",
        ["extends"] = "Liquid has no template inheritance; compose with dependencies (deps.<id>.output)",
        ["block"] = "Liquid has no template inheritance blocks; compose with dependencies (deps.<id>.output)",
        ["endblock"] = "Liquid has no template inheritance blocks",
        ["import"] = "Liquid has no {% import %}; use dependencies",
        ["from"] = "Liquid has no {% from ... import %}; use dependencies",
        ["filter"] = "Liquid has no filter blocks; use {% capture x %}...{% endcapture %}{{ x | filter }}",
        ["endfilter"] = "Liquid has no filter blocks",
        ["elif"] = "write {% elsif %}",
        ["elseif"] = "write {% elsif %}",
        ["asyncEach"] = "write {% for %}",
        ["asyncAll"] = "write {% for %}",
        ["ifAsync"] = "write {% if %}",
        ["verbatim"] = "write {% raw %}",
        ["endverbatim"] = "write {% endraw %}",
    };

    private static readonly Dictionary<string, string> NunjucksFilters = new(StringComparer.Ordinal)
    {
        ["batch"] = "no Liquid equivalent",
        ["center"] = "no Liquid equivalent",
        ["d"] = "write | default:",
        ["dictsort"] = "no Liquid equivalent; sort a list with | sort: \"key\"",
        ["dump"] = "write | json",
        ["e"] = "write | escape",
        ["float"] = "write | times: 1.0",
        ["forceescape"] = "write | escape",
        ["groupby"] = "no Liquid equivalent; group the data in the variables",
        ["indent"] = "no Liquid equivalent",
        ["int"] = "write | plus: 0 (or | floor)",
        ["length"] = "write | size",
        ["list"] = "write | split: \"\"",
        ["lower"] = "write | downcase",
        ["nl2br"] = "write | newline_to_br",
        ["random"] = "no Liquid equivalent (and it would make outputs differ between runs)",
        ["rejectattr"] = "write | reject: \"attr\"",
        ["safe"] = "drop it: Fluid does not escape output here, so | safe has nothing to undo",
        ["select"] = "write | where: \"attr\"",
        ["selectattr"] = "write | where: \"attr\"",
        ["string"] = "drop it, or write | append: \"\"",
        ["striptags"] = "write | strip_html",
        ["title"] = "no Liquid equivalent; | capitalize upcases only the first letter",
        ["trim"] = "write | strip",
        ["upper"] = "write | upcase",
        ["urlencode"] = "write | url_encode",
        ["urlize"] = "no Liquid equivalent",
        ["wordcount"] = "write | split: \" \" | size",
    };

    /// <summary>Finds the constructs in <paramref name="body"/>; <paramref name="hasFilter"/> says which filters Fluid knows.</summary>
    /// <param name="body">The template body.</param>
    /// <param name="bodyStartLine">File line of the body's first line.</param>
    /// <param name="hasFilter">True for filter names registered in Fluid (they are not reported).</param>
    /// <returns>The constructs in order of appearance (empty when there are none).</returns>
    public static List<NunjucksConstruct> Scan(string body, int bodyStartLine, Func<string, bool> hasFilter)
    {
        var found = new List<NunjucksConstruct>();
        string? skipUntil = null;
        int i = 0;
        int line = bodyStartLine;
        int lineStart = 0;
        while (i < body.Length - 1)
        {
            char c = body[i];
            if (c == '\n')
            {
                line++;
                lineStart = i + 1;
                i++;
                continue;
            }

            if (c != '{' || (body[i + 1] != '{' && body[i + 1] != '%' && body[i + 1] != '#'))
            {
                i++;
                continue;
            }

            char kind = body[i + 1];
            string close = kind switch { '{' => "}}", '%' => "%}", _ => "#}" };
            int end = body.IndexOf(close, i + 2, StringComparison.Ordinal);
            if (end < 0)
            {
                break; // Unterminated: Fluid reports it with its position.
            }

            int tagLine = line;
            int tagColumn = i - lineStart + 1;
            string inner = body[(i + 2)..end].Trim('-', ' ', '\t', '\r', '\n');
            for (int k = i; k < end; k++)
            {
                if (body[k] == '\n')
                {
                    line++;
                    lineStart = k + 1;
                }
            }

            i = end + 2;
            string word = FirstWord(inner);
            if (skipUntil is not null)
            {
                if (kind == '%' && word == skipUntil)
                {
                    skipUntil = null;
                }

                continue;
            }

            if (kind == '#')
            {
                found.Add(new("{# ... #}", "Liquid prints it as text; write {% comment %}...{% endcomment %}", tagLine, tagColumn));
                continue;
            }

            if (kind == '%' && word is "raw" or "comment")
            {
                skipUntil = "end" + word;
                continue;
            }

            if (kind == '%' && Tags.TryGetValue(word, out var advice))
            {
                found.Add(new("{% " + word + " %}", advice, tagLine, tagColumn));
                continue;
            }

            CheckExpression(BlankStrings(inner), kind == '{', word, tagLine, tagColumn, hasFilter, found);
        }

        return found;
    }

    private static void CheckExpression(string expr, bool isOutput, string word, int line, int column, Func<string, bool> hasFilter, List<NunjucksConstruct> found)
    {
        if (word == "for" && ForKeyValue().IsMatch(expr))
        {
            found.Add(new("{% for key, value in map %}", "Liquid loops over one variable; loop over a list of objects", line, column));
        }

        if (isOutput && InlineIf().IsMatch(expr))
        {
            found.Add(new("{{ a if cond else b }}", "use {% if cond %}a{% else %}b{% endif %}", line, column));
        }

        if (Not().IsMatch(expr))
        {
            found.Add(new("not", "Liquid has no 'not'; use {% unless %} or != / == false", line, column));
        }

        if (Tilde().IsMatch(expr))
        {
            found.Add(new("~ (concatenation)", "use | append:", line, column));
        }

        foreach (Match m in Call().Matches(expr))
        {
            found.Add(new(m.Groups[1].Value + "()", "Liquid has no function calls", line, column));
        }

        foreach (Match m in LoopVar().Matches(expr))
        {
            found.Add(new("loop." + m.Groups[1].Value, "write forloop." + m.Groups[1].Value.Replace("revindex", "rindex", StringComparison.Ordinal), line, column));
        }

        foreach (Match m in Operators().Matches(expr))
        {
            found.Add(new(m.Value, "Liquid has no such operator", line, column));
        }

        foreach (Match m in Filter().Matches(expr))
        {
            var name = m.Groups[1].Value;
            if (NunjucksFilters.TryGetValue(name, out var advice) && !hasFilter(name))
            {
                found.Add(new("| " + name, advice, line, column));
            }
        }
    }

    private static string FirstWord(string inner)
    {
        int n = 0;
        while (n < inner.Length && (char.IsLetterOrDigit(inner[n]) || inner[n] == '_'))
        {
            n++;
        }

        return inner[..n];
    }

    /// <summary>Replaces the contents of '...' and "..." literals with spaces (same length).</summary>
    private static string BlankStrings(string s)
    {
        var chars = s.ToCharArray();
        char quote = '\0';
        for (int k = 0; k < chars.Length; k++)
        {
            if (quote == '\0')
            {
                if (chars[k] is '"' or '\'')
                {
                    quote = chars[k];
                }
            }
            else if (chars[k] == quote)
            {
                quote = '\0';
            }
            else
            {
                chars[k] = ' ';
            }
        }

        return new string(chars);
    }

    [GeneratedRegex(@"^for\s+\w+\s*,")]
    private static partial Regex ForKeyValue();

    [GeneratedRegex(@"\sif\s.*\selse\s|\sif\s")]
    private static partial Regex InlineIf();

    [GeneratedRegex(@"(^|[\s(])not\s")]
    private static partial Regex Not();

    [GeneratedRegex(@"\s~\s|\w~\w")]
    private static partial Regex Tilde();

    [GeneratedRegex(@"(?<![\w.])([A-Za-z_][\w.]*)\(")]
    private static partial Regex Call();

    [GeneratedRegex(@"(?<![\w.])loop\.(index0|index|revindex0|revindex|first|last|length)\b")]
    private static partial Regex LoopVar();

    [GeneratedRegex(@"===|!==|\*\*|//")]
    private static partial Regex Operators();

    [GeneratedRegex(@"\|\s*([A-Za-z_]\w*)")]
    private static partial Regex Filter();
}
