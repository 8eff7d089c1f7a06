// Where region files live and who may open them: a per-user directory (0700) holding <name>.region files
// (0600) and, per region, a <name>.agents/ directory of per-agent flock files.
using System.Globalization;

namespace Unjucks.SharedMemory;

internal static class RegionFiles
{
    internal const string Extension = ".region";
    internal const string AgentsSuffix = ".agents";
    internal const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The directory from the options, or the per-user root, made private (<see cref="PrivateDirectory.Resolve"/>).</summary>
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

        return PrivateDirectory.Resolve(options.Directory, "SharedRegionOptions.Directory");
    }

    /// <summary>Creates a folder of the region (its .agents folder) 0700, whatever the umask.</summary>
    internal static void CreatePrivateDirectory(string path) =>
        PrivateDirectory.EnsureOwn(path, "set SharedRegionOptions.Directory to a folder of your own");

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

    internal static string DefaultDirectory() => PrivateDirectory.DefaultRoot();

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
}
