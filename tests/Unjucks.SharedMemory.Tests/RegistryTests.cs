namespace Unjucks.SharedMemory.Tests;

public class RegistryTests : RegionTestBase
{
    [Test]
    public void Implicit_registration_info_counters_and_unregistration()
    {
        string name = NewName();
        SharedRegion observer = Region(name);
        int slot;
        using (SharedRegion region = SharedRegion.Open(name, Options))
        {
            Assert.That(region.Agents.IsRegistered, Is.False);
            region.State.Write("k", [1]); // first use registers
            Assert.That(region.Agents.IsRegistered, Is.True);
            slot = region.Agents.CurrentSlot;
            region.Agents.Heartbeat();
            region.Agents.Heartbeat();
            region.Agents.AddOperations(5);
            region.Agents.AddBytesAllocated(1024);
            AgentInfo info = observer.Agents.GetInfo(slot);
            Assert.That(info, Is.EqualTo(new AgentInfo(slot, AgentSlotState.Active, info.Generation, Environment.ProcessId, info.ProcessStartTime, 2, 5, 1024)));
            Assert.That(info.ProcessStartTime, Is.GreaterThan(0));
            Assert.That(observer.Agents.IsAlive(slot), Is.True);
            Assert.That(observer.Agents.GetAgents().Select(a => a.Slot), Does.Contain(slot));
        }

        Assert.That(observer.Agents.GetInfo(slot).State, Is.EqualTo(AgentSlotState.Free));
        Assert.That(observer.Agents.IsAlive(slot), Is.False);
        Assert.Throws<ArgumentOutOfRangeException>(() => observer.Agents.IsAlive(16));
    }

    [Test]
    public void Full_registry_throws_and_a_freed_slot_is_reused()
    {
        string name = NewName();
        SharedRegionOptions options = Options with { MaxAgents = 2 };
        SharedRegion first = Region(name, options);
        first.Agents.Register();
        using (SharedRegion second = SharedRegion.Open(name, options))
        {
            second.Agents.Register();
            using SharedRegion third = SharedRegion.Open(name, options);
            var error = Assert.Throws<SharedRegionFullException>(() => third.Agents.Register())!;
            Assert.That(error.Message, Does.Contain("MaxAgents"));
        }

        using SharedRegion fourth = SharedRegion.Open(name, options);
        Assert.That(fourth.Agents.Register(), Is.EqualTo(1));
        Assert.That(fourth.Agents.GetInfo(1).Generation, Is.EqualTo(2));
    }
}
