// The free slots of a session as a bitmap: Take returns the lowest free slot, so placement is deterministic and slot
// ids stay small; a hint (the lowest word that may have a free bit) keeps Take O(1) amortized when slots are busy.
using System.Numerics;

namespace Unjucks.Agents.Sessions.Core;

/// <summary>Free slot ids 0 .. count-1.</summary>
internal sealed class CoreSlots
{
    private readonly ulong[] _free;
    private int _hint;

    /// <summary>All <paramref name="count"/> slots free.</summary>
    public CoreSlots(int count)
    {
        _free = new ulong[(count + 63) / 64];
        for (int slot = 0; slot < count; slot++)
        {
            _free[slot >> 6] |= 1UL << (slot & 63);
        }

        FreeCount = count;
    }

    /// <summary>Slots not taken.</summary>
    public int FreeCount { get; private set; }

    /// <summary>Takes the lowest free slot; -1 when none is free.</summary>
    public int Take()
    {
        if (FreeCount == 0)
        {
            return -1;
        }

        int word = _hint;
        while (_free[word] == 0)
        {
            word++;
        }

        _hint = word;
        int bit = BitOperations.TrailingZeroCount(_free[word]);
        _free[word] &= ~(1UL << bit);
        FreeCount--;
        return (word << 6) | bit;
    }

    /// <summary>Gives <paramref name="slot"/> back (it must be taken).</summary>
    public void Release(int slot)
    {
        int word = slot >> 6;
        ulong mask = 1UL << (slot & 63);
        if ((_free[word] & mask) != 0)
        {
            throw new InvalidOperationException($"slot {slot} is already free");
        }

        _free[word] |= mask;
        FreeCount++;
        if (word < _hint)
        {
            _hint = word;
        }
    }
}
