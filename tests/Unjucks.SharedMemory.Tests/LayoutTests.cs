using System.Security.Cryptography;
using System.Text;
using Unjucks.SharedMemory.Layout;

namespace Unjucks.SharedMemory.Tests;

public class LayoutTests
{
    [Test]
    public void Header_offsets_are_pinned()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RegionLayout.MagicOffset, Is.Zero);
            Assert.That(RegionLayout.LayoutVersionOffset, Is.EqualTo(8));
            Assert.That(RegionLayout.TotalBytesOffset, Is.EqualTo(16));
            Assert.That(RegionLayout.CreatorStartTimeOffset, Is.EqualTo(32));
            Assert.That(RegionLayout.OptionsOffset, Is.EqualTo(48));
            Assert.That(RegionLayout.SectionCountOffset, Is.EqualTo(80));
            Assert.That(RegionLayout.SectionTableOffset, Is.EqualTo(88));
            Assert.That(RegionLayout.SectionTableEnd, Is.EqualTo(168));
            Assert.That(RegionLayout.SectionTableEnd, Is.LessThanOrEqualTo(RegionLayout.HeaderBytes));
            Assert.That(RegionLayout.HeaderBytes, Is.EqualTo(256));
            Assert.That(Encoding.ASCII.GetString(BitConverter.GetBytes(RegionLayout.Magic)), Is.EqualTo("UNJUCKSR"));
        });
    }

    [Test]
    public void Record_sizes_are_pinned()
    {
        Assert.Multiple(() =>
        {
            Assert.That(AgentSlotLayout.RegisteredAtOffset + sizeof(long), Is.LessThanOrEqualTo(AgentSlotLayout.SlotBytes));
            Assert.That(AgentSlotLayout.SlotBytes, Is.EqualTo(128));
            Assert.That(DirectoryEntryLayout.PayloadOffset, Is.EqualTo(64));
            Assert.That(DirectoryEntryLayout.EntryBytes, Is.EqualTo(128));
            Assert.That(ChangeSequenceLayout.SectionBytes, Is.EqualTo(256));
            Assert.That(QueueLayout.ControlBytes, Is.EqualTo(512));
            Assert.That(QueueLayout.SlotBytes(64), Is.EqualTo(128));
            Assert.That(QueueLayout.SlotBytes(40), Is.EqualTo(64));
            Assert.That(QueueLayout.SlotPayloadOffset, Is.EqualTo(24));
            Assert.That(StateSlotLayout.SlotBytes(64, 256), Is.EqualTo(704));
            Assert.That(StateSlotLayout.Buffer0Offset(64), Is.EqualTo(128));
        });
    }

    [Test]
    public void Default_geometry_is_pinned_and_sections_are_aligned()
    {
        RegionGeometry g = RegionGeometry.FromOptions(new SharedRegionOptions());
        long[] expectedOffsets = [256, 8448, 16640, 16896, 2904576]; // 256 + 64*128, + 64*128, + 256, + 4096 + 4096*704
        Assert.That(g.SectionOffsets, Is.EqualTo(expectedOffsets));
        Assert.That(g.TotalBytes, Is.EqualTo(7106560));
        for (int s = 0; s < RegionLayout.SectionCount; s++)
        {
            Assert.That(g.SectionOffsets[s] % RegionLayout.SectionAlignment, Is.Zero, RegionLayout.SectionNames[s]);
            if (s > 0)
            {
                Assert.That(g.SectionOffsets[s], Is.GreaterThanOrEqualTo(g.SectionOffsets[s - 1] + g.SectionLengths[s - 1]));
            }
        }
    }

    [Test]
    public void Crc32c_matches_the_check_value_and_the_portable_path()
    {
        Assert.That(Crc32C.Compute("123456789"u8), Is.EqualTo(0xE3069283u));
        Assert.That(Crc32C.ComputePortable("123456789"u8), Is.EqualTo(0xE3069283u));
        for (int length = 0; length < 70; length++)
        {
            byte[] data = RandomNumberGenerator.GetBytes(length);
            Assert.That(Crc32C.Compute(data), Is.EqualTo(Crc32C.ComputePortable(data)), $"length {length}");
        }
    }

    [Test]
    public void Agent_ids_round_trip()
    {
        int id = AgentIds.Make(32766, 0xABCDE);
        Assert.That((AgentIds.Slot(id), AgentIds.Generation16(id)), Is.EqualTo((32766, 0xBCDE)));
        Assert.That(AgentIds.Make(0, 0), Is.Not.Zero.And.Not.EqualTo(-1));
    }
}
