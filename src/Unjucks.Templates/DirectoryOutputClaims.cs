// DirectoryOutputClaims: output claims shared by every process of a job, as files in one directory.
//
// A claim is the file <directory>/<SHA-256 of the full path, hex>.claim holding "<template id>\n<full path>". It is
// created complete or not at all: the content goes to a temporary file first, which link(2) then gives the claim
// name; link fails with EEXIST when the name exists, so exactly one claimer wins and no reader ever sees a
// half-written claim. (File.Move(overwrite: false) is not used: on Unix .NET checks that the target is missing and
// then renames, and two claimers can both pass the check; a test with racing claimers caught exactly that.) Hard
// links must work in the directory (tmpfs, ext4, xfs and btrfs support them). A killed claimer can leave a
// temporary file, never a broken claim.
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Unjucks.Templates;

/// <summary>
/// Output claims shared by several processes (or several writers of one process): one file per claimed path in
/// a directory that all of them use for the same job. Use a fresh directory per job and delete it afterwards
/// (<see cref="DeleteDirectory"/>).
/// </summary>
public sealed partial class DirectoryOutputClaims : IOutputClaims
{
    private const string Extension = ".claim";
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly ConcurrentDictionary<string, string> _known = new(StringComparer.Ordinal);

    /// <summary>Uses <paramref name="directory"/> (created if missing) for the claims.</summary>
    /// <param name="directory">The job's claims directory, the same for every process of the job.</param>
    public DirectoryOutputClaims(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory = Path.GetFullPath(directory);
        CreatePrivate(Directory);
    }

    /// <summary>The claims directory (full path).</summary>
    public string Directory { get; }

    /// <summary>Creates <paramref name="path"/> (and any missing parent) 0700 whatever the umask: the claims name
    /// which templates a job renders, so no other user may list them.</summary>
    private static void CreatePrivate(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(path);
            return;
        }

        Unjucks.SharedMemory.PrivateDirectory.EnsureOwn(path, "choose a claims folder of your own");
    }

    /// <summary>Deletes the claims directory and everything in it; false when it could not be removed.</summary>
    public bool DeleteDirectory()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
            return true;
        }
        catch (DirectoryNotFoundException)
        {
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public string Claim(string fullPath, string templateId)
    {
        ArgumentNullException.ThrowIfNull(fullPath);
        ArgumentNullException.ThrowIfNull(templateId);
        if (_known.TryGetValue(fullPath, out var owner))
        {
            return owner;
        }

        var name = Convert.ToHexStringLower(SHA256.HashData(Utf8.GetBytes(fullPath)));
        var claim = Path.Combine(Directory, name + Extension);
        var temp = Path.Combine(Directory, $".{name}.{Guid.NewGuid():N}.tmp");
        try
        {
            WritePrivate(temp, templateId + "\n" + fullPath);
            owner = Native.Link(temp, claim) == 0 ? templateId : OwnerAfterFailedLink(claim, fullPath);
        }
        finally
        {
            File.Delete(temp); // the claim, if ours, is the other name of the same file; no exception when missing
        }

        return _known.GetOrAdd(fullPath, owner);
    }

    /// <summary>Writes a new claim file 0600 (whatever the umask: the mode is given to open(2), and 0600 has no bit
    /// a umask would add); File.WriteAllText would make it 0644 under the usual umask.</summary>
    private static void WritePrivate(string path, string text)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        stream.Write(Utf8.GetBytes(text));
    }

    private string OwnerAfterFailedLink(string claim, string fullPath)
    {
        int errno = Marshal.GetLastPInvokeError();
        if (errno != Native.EEXIST)
        {
            throw new IOException($"cannot create the claim file '{claim}': {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}). The claims directory must be writable and support hard links.");
        }

        return ReadOwner(claim, fullPath);
    }

    private string ReadOwner(string claim, string fullPath)
    {
        var text = File.ReadAllText(claim, Utf8);
        int newline = text.IndexOf('\n', StringComparison.Ordinal);
        if (newline <= 0 || !string.Equals(text[(newline + 1)..], fullPath, StringComparison.Ordinal))
        {
            throw new IOException(
                $"the claim file '{claim}' does not name the output '{fullPath}'; the claims directory '{Directory}' is damaged or shared with another job. Delete it and run the job again.");
        }

        return text[..newline];
    }

    private static partial class Native
    {
        public const int EEXIST = 17; // Linux

        // link(2): gives oldPath's file a second name; fails with EEXIST when newPath exists. Atomic.
        [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        public static partial int Link(string oldPath, string newPath);
    }
}
