// A fixed array of named entries (queues, locks). Entries are only ever added, in index order, so a search can
// stop at the first free entry: two processes creating the same name race for that same entry, and the loser
// waits for the winner's name and finds it.
//
// Entry state word: 0 = free, -1 = ready (name and payload published), otherwise the agent id of the creator
// while it writes the name. A creator that dies mid-claim is detected through the registry and its claim is
// reverted to free (the payload is initialised again by the next claimer).
using System.Runtime.CompilerServices;
using System.Text;
using Unjucks.SharedMemory.Layout;

namespace Unjucks.SharedMemory;

internal sealed unsafe class NameDirectory
{
    private readonly SharedRegion _region;
    private readonly byte* _entries;
    private readonly int _capacity;
    private readonly string _kind;
    private readonly string _option;

    internal NameDirectory(SharedRegion region, byte* entries, int capacity, string kind, string option)
    {
        _region = region;
        _entries = entries;
        _capacity = capacity;
        _kind = kind;
        _option = option;
    }

    internal delegate void Initializer(int index, byte* entry);

    internal byte* Entry(int index) => _entries + ((long)index * DirectoryEntryLayout.EntryBytes);

    /// <summary>
    /// The entries published ready, in index order, without claiming anything: stops at the first free entry and
    /// skips an entry still being claimed (read-only; inspectors use it).
    /// </summary>
    internal List<(int Index, string Name)> ReadyEntries()
    {
        var entries = new List<(int Index, string Name)>();
        for (int index = 0; index < _capacity; index++)
        {
            byte* entry = Entry(index);
            // SAFETY: the state word is the first 4 bytes of a 128-byte entry inside the live mapping.
            int state = Volatile.Read(ref Unsafe.AsRef<int>(entry + DirectoryEntryLayout.StateOffset)); // acquire: pairs with the release of Ready in FindOrCreate
            if (state == DirectoryEntryLayout.StateFree)
            {
                break;
            }

            if (state != DirectoryEntryLayout.StateReady)
            {
                continue; // a creator is writing the name: not there yet
            }

            // SAFETY: the name was published before Ready (acquire above) and never changes; length checked.
            int length = Unsafe.AsRef<int>(entry + DirectoryEntryLayout.NameLengthOffset);
            if ((uint)length > DirectoryEntryLayout.MaxNameBytes)
            {
                throw new SharedRegionFormatException(
                    $"{_kind} entry {index} of region '{_region.FilePath}' has an impossible name length {length}; the region is corrupt. Delete it.");
            }

            entries.Add((index, Encoding.UTF8.GetString(entry + DirectoryEntryLayout.NameOffset, length)));
        }

        return entries;
    }

    internal int FindOrCreate(string name, Initializer initialize)
    {
        ArgumentNullException.ThrowIfNull(name);
        int byteCount = Encoding.UTF8.GetByteCount(name);
        if (byteCount is 0 or > DirectoryEntryLayout.MaxNameBytes)
        {
            throw new ArgumentException(
                $"A {_kind} name must be 1 to {DirectoryEntryLayout.MaxNameBytes} UTF-8 bytes; '{name}' has {byteCount}.", nameof(name));
        }

        Span<byte> wanted = stackalloc byte[DirectoryEntryLayout.MaxNameBytes];
        wanted = wanted[..Encoding.UTF8.GetBytes(name, wanted)];
        for (int index = 0; index < _capacity; index++)
        {
            byte* entry = Entry(index);
            // SAFETY: the state word is the first 4 bytes of a 128-byte entry inside the live mapping.
            ref int state = ref Unsafe.AsRef<int>(entry + DirectoryEntryLayout.StateOffset);
            var backoff = new OwnerBackoff();
            while (true)
            {
                _region.ThrowIfDisposed();
                int seen = Volatile.Read(ref state); // acquire: pairs with the release of Ready below
                if (seen == DirectoryEntryLayout.StateReady)
                {
                    if (NameEquals(entry, wanted))
                    {
                        return index;
                    }

                    break; // another name: next entry
                }

                if (seen == DirectoryEntryLayout.StateFree)
                {
                    int me = _region.Agents.CurrentAgentId;
                    // Full-fence CAS claims the entry; losers re-read the state and wait for the winner.
                    if (Interlocked.CompareExchange(ref state, me, DirectoryEntryLayout.StateFree) != DirectoryEntryLayout.StateFree)
                    {
                        continue;
                    }

                    // SAFETY: we own the entry (claimed above); name bytes fit in the 56-byte field (checked).
                    wanted.CopyTo(new Span<byte>(entry + DirectoryEntryLayout.NameOffset, DirectoryEntryLayout.MaxNameBytes));
                    Unsafe.AsRef<int>(entry + DirectoryEntryLayout.NameLengthOffset) = wanted.Length;
                    initialize(index, entry);
                    // Release: publishes the name and the initialised payload; pairs with the acquire above.
                    Volatile.Write(ref state, DirectoryEntryLayout.StateReady);
                    return index;
                }

                // Claimed by agent `seen`, which is writing the name: wait, and revert the claim if it died.
                if (backoff.WaitAndShouldCheck() && !_region.Agents.IsAgentAlive(seen))
                {
                    // Full-fence CAS: only one waiter reverts, and only the dead agent's claim.
                    Interlocked.CompareExchange(ref state, DirectoryEntryLayout.StateFree, seen);
                }
                else if (backoff.Exceeded)
                {
                    AgentInfo holder = _region.Agents.GetInfo(AgentIds.Slot(seen));
                    throw new TimeoutException(
                        $"{_kind} entry {index} of region '{_region.FilePath}' has been claimed for more than {OwnerBackoff.Bound.TotalMilliseconds:0} ms by agent slot {holder.Slot} (pid {holder.ProcessId}), which is alive but stopped or starved while naming it; try again, or stop or resume that process.");
                }
            }
        }

        throw new SharedRegionFullException(
            $"All {_capacity} {_kind} entries of region '{_region.FilePath}' are taken and none is named '{name}'. Create the region with a larger SharedRegionOptions.{_option}.");
    }

    private static bool NameEquals(byte* entry, ReadOnlySpan<byte> wanted)
    {
        // SAFETY: name length and bytes were published before the entry became ready and never change after.
        int length = Unsafe.AsRef<int>(entry + DirectoryEntryLayout.NameLengthOffset);
        return length == wanted.Length
            && new ReadOnlySpan<byte>(entry + DirectoryEntryLayout.NameOffset, length).SequenceEqual(wanted);
    }
}
