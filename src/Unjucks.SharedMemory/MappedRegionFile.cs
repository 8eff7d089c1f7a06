// Maps a region file read-write and shared (MAP_SHARED through MemoryMappedFile.CreateFromFile) and holds a raw
// pointer to it for the lifetime of its owner: the one mapping primitive of SharedRegion and SessionSegment.
using System.IO.MemoryMappedFiles;

namespace Unjucks.SharedMemory;

internal sealed unsafe class MappedRegionFile : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private bool _released;

    internal MappedRegionFile(FileStream stream, long length)
    {
        _file = MemoryMappedFile.CreateFromFile(stream, mapName: null, length, MemoryMappedFileAccess.ReadWrite,
            HandleInheritability.None, leaveOpen: true);
        _view = _file.CreateViewAccessor(0, length, MemoryMappedFileAccess.ReadWrite);
        byte* pointer = null;
        // SAFETY: AcquirePointer adds a reference to the view handle that we drop in Dispose, so the mapping stays
        // alive as long as this object is not disposed; PointerOffset is 0 for a view at file offset 0 but is
        // added anyway.
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        Base = pointer + _view.PointerOffset;
        Length = length;
    }

    /// <summary>Start of the mapping (page aligned).</summary>
    internal byte* Base { get; }

    internal long Length { get; }

    public void Dispose()
    {
        if (!_released)
        {
            _released = true;
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
        }

        _view.Dispose();
        _file.Dispose();
    }
}
