namespace Unjucks.SharedMemory;

/// <summary>
/// A 32-bit agent id: (slot + 1) in bits 0..14 and the slot's registration generation (low 16 bits) in bits
/// 16..31. Never 0 (0 means "nobody") and never -1 (the directory's "ready" marker), because bits 0..14 are
/// between 1 and 32767. The generation tells a reused slot from the agent that held it before.
/// </summary>
internal static class AgentIds
{
    internal static int Make(int slot, int generation) => (slot + 1) | ((generation & 0xFFFF) << 16);

    internal static int Slot(int agentId) => (agentId & 0x7FFF) - 1;

    internal static int Generation16(int agentId) => (int)((uint)agentId >> 16);
}
