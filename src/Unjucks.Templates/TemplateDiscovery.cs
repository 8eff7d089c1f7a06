using System.Text;
// Bounded-concurrency discovery, after the seed's ConcurrentTemplateDiscovery (a semaphore of 8 around
// per-directory scans): here Parallel.ForEachAsync with MaxDegreeOfParallelism = K does the bounding.
// Invariants: each directory is scanned by exactly one worker and writes only its own result slot; at
// most K directories are in flight (MaxObservedInFlight measures it); results are merged in root order,
// then sorted by id, so the outcome does not depend on K or on timing.
using System.Diagnostics;

namespace Unjucks.Templates;

/// <summary>How long one directory took to scan (its own files, not its subdirectories).</summary>
/// <param name="Root">The discovery root the directory belongs to.</param>
/// <param name="Directory">The directory relative to <paramref name="Root"/> ("." for the root).</param>
/// <param name="TemplateCount">Template files found directly in it.</param>
/// <param name="Elapsed">Time to list, read and split its template files.</param>
public sealed record DirectoryTiming(string Root, string Directory, int TemplateCount, TimeSpan Elapsed);

/// <summary>A template file that discovery could not turn into a <see cref="TemplateSource"/>.</summary>
/// <param name="Error">What was wrong (front matter, duplicate id).</param>
/// <param name="SourcePath">The file.</param>
public sealed record DiscoveryFailure(TemplateError Error, string SourcePath);

/// <summary>What <see cref="TemplateDiscovery.DiscoverAsync"/> found.</summary>
public sealed class DiscoveryResult
{
    internal DiscoveryResult(IReadOnlyList<TemplateSource> templates, IReadOnlyList<DiscoveryFailure> failures, IReadOnlyList<DirectoryTiming> directories, TimeSpan elapsed, int maxConcurrency, int maxObservedInFlight)
    {
        Templates = templates;
        Failures = failures;
        Directories = directories;
        Elapsed = elapsed;
        MaxConcurrency = maxConcurrency;
        MaxObservedInFlight = maxObservedInFlight;
    }

    /// <summary>The templates, ordered by id (ordinal).</summary>
    public IReadOnlyList<TemplateSource> Templates { get; }

    /// <summary>Files that could not be used, ordered by id.</summary>
    public IReadOnlyList<DiscoveryFailure> Failures { get; }

    /// <summary>Per-directory timings, ordered by root then directory.</summary>
    public IReadOnlyList<DirectoryTiming> Directories { get; }

    /// <summary>Wall time of the whole discovery.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>The K that bounded the directories in flight.</summary>
    public int MaxConcurrency { get; }

    /// <summary>The most directories that were being scanned at once (never above <see cref="MaxConcurrency"/>).</summary>
    public int MaxObservedInFlight { get; }
}

/// <summary>
/// Finds <c>*.liquid</c> and <c>*.njk</c> files under one or more roots. Every directory of every root
/// (recursively; hidden directories and symbolic links skipped) is one unit of work; at most K of them are
/// scanned at once (<see cref="Parallel.ForEachAsync{TSource}(IEnumerable{TSource}, ParallelOptions, Func{TSource, CancellationToken, ValueTask})"/>),
/// and each is timed.
/// </summary>
public static class TemplateDiscovery
{
    // Bytes that are not UTF-8 are the template's error, not silently U+FFFD in its output and file names.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static string Unreadable(string file, Exception e) => e switch
    {
        DecoderFallbackException d => $"'{file}' is not valid UTF-8 (first bad byte at offset {d.Index}); save it as UTF-8.",
        FileNotFoundException or DirectoryNotFoundException => $"'{file}' cannot be read: it is a link to a file that does not exist; fix or remove the link.",
        IOException when e.Message.Contains("symbolic links", StringComparison.OrdinalIgnoreCase) => $"'{file}' cannot be read: its links loop; fix or remove the link.",
        _ => $"'{file}' cannot be read: {e.Message}",
    };

    /// <summary>The seed's default for directories in flight.</summary>
    public const int DefaultMaxConcurrency = 8;

    /// <summary>
    /// Discovers the templates under <paramref name="roots"/>. Ids are relative to the root they were
    /// found under; when two roots yield the same id, the earlier root wins and the later file is reported
    /// as <see cref="TemplateErrorKind.DuplicateId"/>.
    /// </summary>
    /// <param name="roots">Directories to search, in priority order.</param>
    /// <param name="maxConcurrency">K: the most directories scanned at once (at least 1).</param>
    /// <param name="cancellationToken">Stops the scan.</param>
    /// <returns>The templates, the failures and the per-directory timings.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxConcurrency"/> is below 1.</exception>
    /// <exception cref="DirectoryNotFoundException">A root does not exist.</exception>
    public static async Task<DiscoveryResult> DiscoverAsync(IReadOnlyList<string> roots, int maxConcurrency = DefaultMaxConcurrency, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(roots);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrency, 1);
        long started = Stopwatch.GetTimestamp();

        var units = new List<(int RootIndex, string Root, string Dir)>();
        for (int r = 0; r < roots.Count; r++)
        {
            var root = Path.GetFullPath(roots[r]);
            if (!Directory.Exists(root))
            {
                throw new DirectoryNotFoundException($"template directory '{roots[r]}' does not exist (resolved to '{root}'); pass an existing directory.");
            }

            units.Add((r, root, root));
            var options = new EnumerationOptions
            {
                RecurseSubdirectories = true,
                IgnoreInaccessible = true,
                AttributesToSkip = FileAttributes.Hidden | FileAttributes.System | FileAttributes.ReparsePoint,
            };
            foreach (var dir in Directory.EnumerateDirectories(root, "*", options).Order(StringComparer.Ordinal))
            {
                units.Add((r, root, dir));
            }
        }

        var found = new List<(TemplateSource? Source, DiscoveryFailure? Failure, string RelativePath)>[units.Count];
        var timings = new DirectoryTiming[units.Count];
        int inFlight = 0;
        int maxInFlight = 0;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = maxConcurrency, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, units.Count), parallel, async (i, ct) =>
        {
            // Counts directories being scanned; pairs with the Decrement in the finally below. Interlocked
            // (full fence) so the maximum below sees every concurrent increment.
            int now = Interlocked.Increment(ref inFlight);
            int seen = Volatile.Read(ref maxInFlight);
            // Raises maxInFlight to `now` unless another worker already raised it higher; the CAS pairs with
            // the other workers' CAS on the same field.
            while (now > seen && Interlocked.CompareExchange(ref maxInFlight, now, seen) is var prev && prev != seen)
            {
                seen = prev;
            }

            try
            {
                var (_, root, dir) = units[i];
                long t0 = Stopwatch.GetTimestamp();
                var list = new List<(TemplateSource?, DiscoveryFailure?, string)>();
                var files = Directory.EnumerateFiles(dir, "*", new EnumerationOptions { AttributesToSkip = FileAttributes.Hidden | FileAttributes.System })
                    .Where(f => TemplateSource.Extensions.Any(e => f.EndsWith(e, StringComparison.Ordinal)))
                    .Order(StringComparer.Ordinal);
                foreach (var file in files)
                {
                    long f0 = Stopwatch.GetTimestamp();
                    var rel = Path.GetRelativePath(root, file);
                    var id = TemplateSource.IdFromRelativePath(rel);
                    string text;
                    try
                    {
                        text = StrictUtf8.GetString(await File.ReadAllBytesAsync(file, ct).ConfigureAwait(false));
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException or DecoderFallbackException)
                    {
                        list.Add((null, new DiscoveryFailure(new TemplateError(TemplateErrorKind.Unreadable, id, Unreadable(file, e)), file), rel));
                        continue;
                    }

                    try
                    {
                        list.Add((TemplateSource.FromText(id, text, file, TemplateSource.SyntaxOf(file), Stopwatch.GetElapsedTime(f0)), null, rel));
                    }
                    catch (TemplateException e)
                    {
                        list.Add((null, new DiscoveryFailure(e.Error, file), rel));
                    }
                }

                // Each index is written by exactly one worker; ForEachAsync's completion publishes it to the
                // awaiting caller.
                found[i] = list;
                timings[i] = new DirectoryTiming(root, Path.GetRelativePath(root, dir).Replace(Path.DirectorySeparatorChar, '/'), list.Count, Stopwatch.GetElapsedTime(t0));
            }
            finally
            {
                // Pairs with the Increment above.
                Interlocked.Decrement(ref inFlight);
            }
        }).ConfigureAwait(false);

        var templates = new List<TemplateSource>();
        var failures = new List<DiscoveryFailure>();
        var firstSource = new Dictionary<string, string>(StringComparer.Ordinal);
        // Units are ordered by root, so the first file seen for an id comes from the earliest root.
        foreach (var list in found)
        {
            foreach (var (source, failure, _) in list)
            {
                var id = source?.Id ?? failure!.Error.TemplateId;
                var path = source?.SourcePath ?? failure!.SourcePath;
                if (firstSource.TryGetValue(id, out var first))
                {
                    failures.Add(new DiscoveryFailure(new TemplateError(TemplateErrorKind.DuplicateId, id,
                        $"'{path}' has the same id as '{first}' (an earlier root or the other extension); rename one of them."), path));
                    continue;
                }

                firstSource[id] = path;
                if (source is not null)
                {
                    templates.Add(source);
                }
                else
                {
                    failures.Add(failure!);
                }
            }
        }

        templates.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        failures.Sort((a, b) => string.CompareOrdinal(a.Error.TemplateId, b.Error.TemplateId));
        return new DiscoveryResult(templates, failures, timings, Stopwatch.GetElapsedTime(started), maxConcurrency, Volatile.Read(ref maxInFlight));
    }
}
