// Where region files live and who may open them: a per-user directory (0700) holding <name>.region files
// (0600) and, per region, a <name>.agents/ directory of per-agent flock files.
using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Unjucks.SharedMemory.Native;

namespace Unjucks.SharedMemory;

internal static class RegionFiles
{
    internal const string Extension = ".region";
    internal const string AgentsSuffix = ".agents";
    internal const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    internal const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The directory from the options, or the per-user default, created 0700 if missing.</summary>
    internal static string ResolveDirectory(SharedRegionOptions options)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Unjucks.SharedMemory needs Linux (futex, flock, /proc).");
        }

        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Unjucks.SharedMemory's region layout is little-endian only.");
        }

        string directory = options.Directory ?? DefaultDirectory();
        CreatePrivateDirectory(directory);
        if (options.Directory is null)
        {
            UnixFileMode mode = File.GetUnixFileMode(directory);
            if ((mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            {
                throw new UnauthorizedAccessException(
                    $"Region directory '{directory}' is writable by group or others (mode {FormatMode((uint)mode)}); another user could plant region files there. Run 'chmod 700 {directory}'.");
            }
        }

        return directory;
    }

    /// <summary>Creates a directory with mode 0700 (no-op if it exists).</summary>
    internal static void CreatePrivateDirectory(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Unjucks.SharedMemory needs Linux (futex, flock, /proc).");
        }

        Directory.CreateDirectory(path, DirectoryMode);
    }

    /// <summary>Options that create a new file with mode 0600 and fail if it exists (O_EXCL).</summary>
    internal static FileStreamOptions CreateNewOptions()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Unjucks.SharedMemory needs Linux (futex, flock, /proc).");
        }

        return new FileStreamOptions
        {
            Mode = System.IO.FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite | FileShare.Delete,
            UnixCreateMode = FileMode,
        };
    }

    internal static string DefaultDirectory()
    {
        string root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        return Path.Combine(root, "unjucks-" + LibC.GetEuid().ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Checks a region name: 1..100 characters of [A-Za-z0-9._-], not starting with '.'.</summary>
    internal static void ValidateName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        bool ok = name.Length is > 0 and <= 100 && name[0] != '.';
        foreach (char c in name)
        {
            ok &= char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-';
        }

        if (!ok)
        {
            throw new ArgumentException(
                $"Region name '{name}' is invalid: use 1 to 100 characters from A-Z, a-z, 0-9, '.', '_' and '-', not starting with '.'.", nameof(name));
        }
    }

    internal static string RegionPath(string directory, string name) => Path.Combine(directory, name + Extension);

    internal static string AgentsDirectory(string regionPath) => regionPath + AgentsSuffix;

    internal static string AgentLockPath(string regionPath, int slot) =>
        Path.Combine(AgentsDirectory(regionPath), slot.ToString(CultureInfo.InvariantCulture) + ".lock");

    /// <summary>Refuses a file owned by another user or writable by group/others (UnauthorizedAccessException).</summary>
    internal static void CheckOwnership(SafeFileHandle handle, string path)
    {
        (uint uid, uint mode) = FileStat.Stat(handle);
        uint me = LibC.GetEuid();
        if (uid != me)
        {
            throw new UnauthorizedAccessException(
                $"Region file '{path}' is owned by uid {uid}, not by this process's uid {me}; a region shared with another user could be tampered with. Use a Directory of your own or delete the file.");
        }

        if ((mode & 0b_000_010_010) != 0)
        {
            throw new UnauthorizedAccessException(
                $"Region file '{path}' is writable by group or others (mode {FormatMode(mode)}); another user could corrupt it. Run 'chmod 600 {path}' or delete it.");
        }
    }

    private static string FormatMode(uint mode) => "0" + Convert.ToString(mode & 0xFFF, 8);
}
