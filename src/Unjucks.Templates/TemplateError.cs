namespace Unjucks.Templates;

/// <summary>What went wrong with one template. Stable names: engines send them across processes.</summary>
public enum TemplateErrorKind
{
    /// <summary>The front matter is not valid YAML, not closed, or has an unknown or mistyped field.</summary>
    FrontMatter,
    /// <summary>Two template files map to the same template id.</summary>
    DuplicateId,
    /// <summary>Fluid could not parse the template body (the error carries line and column).</summary>
    Syntax,
    /// <summary>The body uses a Nunjucks construct that Liquid lacks (the error lists each with its line).</summary>
    NunjucksConstruct,
    /// <summary>Strict mode: the template reads a variable (or member) that is not defined.</summary>
    UndefinedVariable,
    /// <summary>Fluid failed while rendering (unknown filter, bad argument, step limit...).</summary>
    Render,
    /// <summary>The <c>to:</c> path is absolute, contains <c>..</c>, or resolves outside the output directory.</summary>
    OutputPath,
    /// <summary>Another template already wrote the same output path in this job.</summary>
    OutputConflict,
    /// <summary>Writing the output file failed (I/O error).</summary>
    Write,
    /// <summary>A <c>dependsOn</c> entry names a template that does not exist.</summary>
    MissingDependency,
    /// <summary>The template is part of a dependency cycle (the message names the cycle).</summary>
    DependencyCycle,
    /// <summary>A template this one depends on (directly or not) failed; the message names it.</summary>
    DependencyFailed,
    /// <summary>A render limit was exceeded (see <see cref="RenderLimits"/>): nesting depth, time, output size or loop steps.</summary>
    Limit,

    /// <summary>The template file could not be read: a dangling or looping link, no permission, or bytes that are not UTF-8.</summary>
    Unreadable,

    /// <summary>The job was canceled before this template ran.</summary>
    Canceled,
}

/// <summary>
/// One template's error as plain data (kind, message, position in the template file), so that an engine
/// can carry it across a process boundary.
/// </summary>
/// <param name="Kind">What went wrong.</param>
/// <param name="TemplateId">The template the error belongs to.</param>
/// <param name="Message">A message that says what was wrong and what to do.</param>
/// <param name="Line">1-based line in the template file (front matter included), when known.</param>
/// <param name="Column">1-based column, when known.</param>
public sealed record TemplateError(TemplateErrorKind Kind, string TemplateId, string Message, int? Line = null, int? Column = null)
{
    /// <summary>"id:line:col: kind: message", the way compilers print errors.</summary>
    public override string ToString()
    {
        var where = Line is int l ? (Column is int c ? $"{TemplateId}:{l}:{c}" : $"{TemplateId}:{l}") : TemplateId;
        return $"{where}: {Kind}: {Message}";
    }
}

/// <summary>The typed exception for anything wrong with one template; <see cref="Error"/> holds the details.</summary>
public sealed class TemplateException : Exception
{
    /// <summary>Creates the exception from its error.</summary>
    /// <param name="error">The error.</param>
    /// <param name="inner">The underlying exception (Fluid's, YamlDotNet's or an I/O one), if any.</param>
    public TemplateException(TemplateError error, Exception? inner = null)
        : base(error.ToString(), inner)
    {
        Error = error;
    }

    /// <summary>The error as plain data.</summary>
    public TemplateError Error { get; }

    /// <summary>Shortcut for <c>Error.Kind</c>.</summary>
    public TemplateErrorKind Kind => Error.Kind;
}
