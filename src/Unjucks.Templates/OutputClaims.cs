using System.Collections.Concurrent;

namespace Unjucks.Templates;

/// <summary>
/// Which template writes which output path within one job. <see cref="OutputWriter"/> asks before every write:
/// the first template to claim a path owns it, and any other template that tries to write there gets
/// <see cref="TemplateErrorKind.OutputConflict"/>. A template claiming its own path again (a retried task) is
/// fine. Implementations must be safe to call from several threads.
/// </summary>
public interface IOutputClaims
{
    /// <summary>Claims <paramref name="fullPath"/> for <paramref name="templateId"/> unless another template
    /// already has it.</summary>
    /// <param name="fullPath">The output's full path (as <see cref="OutputWriter.ResolveFullPath"/> returns it).</param>
    /// <param name="templateId">The template about to write it.</param>
    /// <returns>The template that owns the path: <paramref name="templateId"/> when the claim is new or its own.</returns>
    /// <exception cref="IOException">The claim could not be recorded or read.</exception>
    string Claim(string fullPath, string templateId);
}

/// <summary>Claims held in this process's memory: enough when one writer sees every output of the job.</summary>
public sealed class InMemoryOutputClaims : IOutputClaims
{
    private readonly ConcurrentDictionary<string, string> _owners = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public string Claim(string fullPath, string templateId)
    {
        ArgumentNullException.ThrowIfNull(fullPath);
        ArgumentNullException.ThrowIfNull(templateId);
        return _owners.GetOrAdd(fullPath, templateId);
    }
}
