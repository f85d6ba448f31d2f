#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of one tensor: a 64-byte aligned allocation, zero-filled when created, or a slice of a mapping or
/// of another storage.
///
/// A class so that `Tensor` can share it and copy only on write; readers fill it in place, so a tensor read
/// from a file is not copied again after the read.
final class TensorStorage: @unchecked Sendable {
    /// 64 bytes: a cache line, and the alignment numpy's NPY format gives the data it writes.
    static let alignment = 64
    /// From this size on, a storage is a mapping of its own with huge pages (see `MappedRegion(anonymous:)`);
    /// smaller ones come from malloc, so that many small tensors do not use up the process's mappings.
    static let mappingThreshold = 4 << 20

    let bytes: UnsafeMutableRawBufferPointer
    /// What keeps the bytes alive when this storage does not own a malloc allocation: a mapping (of a file, or
    /// anonymous), or the storage this one is a slice of; nil for an owned allocation.
    private let owner: AnyObject?

    init(byteCount: Int) {
        if byteCount >= Self.mappingThreshold, let region = MappedRegion(anonymous: byteCount) {
            // A new anonymous mapping reads as zeros already; writing zeros would only fault every page in early.
            bytes = UnsafeMutableRawBufferPointer(start: region.base, count: byteCount)
            owner = region
            return
        }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: Self.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
        bytes = UnsafeMutableRawBufferPointer(start: raw, count: byteCount)
        owner = nil
    }

    /// Storage that borrows `count` bytes at `offset` of `region` (which stays mapped while any borrower lives).
    init(region: MappedRegion, offset: Int, count: Int) {
        bytes = UnsafeMutableRawBufferPointer(start: region.base + offset, count: count)
        owner = region
    }

    /// Storage that borrows `count` bytes at `offset` of `parent`, which lives as long as this storage does.
    ///
    /// For data decoded after a header into one buffer (an NPY array inflated from an NPZ entry): the data
    /// becomes a tensor without being copied. The caller checks the range and that nothing else writes to it.
    init(slicing parent: TensorStorage, offset: Int, count: Int) {
        bytes = UnsafeMutableRawBufferPointer(start: parent.bytes.baseAddress! + offset, count: count)
        owner = parent
    }

    func copy() -> TensorStorage {
        let result = TensorStorage(byteCount: bytes.count)
        if bytes.count > 0 { result.bytes.copyMemory(from: UnsafeRawBufferPointer(bytes)) }
        return result
    }

    deinit { if owner == nil { bytes.baseAddress!.deallocate() } }
}

/// A private, writable mapping: of a whole file, or of fresh zeroed memory; unmapped when the last tensor
/// borrowing from it is gone.
///
/// Private (copy-on-write) so that writing to a tensor never writes to the file.
final class MappedRegion: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let length: Int
    /// What `munmap` takes: the whole mapping, which for anonymous memory starts before `base`.
    private let mapping: (start: UnsafeMutableRawPointer, length: Int)

    /// Maps the file open as `descriptor`, `length` bytes; nil when mapping fails.
    init?(descriptor: Int32, length: Int) {
        guard length > 0 else { return nil }
        let address = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, descriptor, 0)
        guard let address, address != MAP_FAILED else { return nil }
        base = address
        self.length = length
        mapping = (address, length)
    }

    /// The size of a huge page on x86-64 and arm64 Linux.
    static let hugePageSize = 2 << 20

    /// `length` bytes of zeroed memory starting on a 2 MiB boundary, with huge pages asked for (Linux's
    /// `MADV_HUGEPAGE`, which matters where transparent huge pages are set to `madvise`); nil when mapping fails.
    ///
    /// Faulting in memory a 4 KiB page at a time is what bounds reading a model here: 352 MB took 175 ms just to
    /// touch, as much as reading it from the page cache. With huge pages, reading and checking it into fresh
    /// memory went from 236 ms to 112 ms. (numpy asks for huge pages for its large arrays the same way.)
    init?(anonymous length: Int) {
        guard length > 0, length <= Int.max - Self.hugePageSize else { return nil }
        let total = length + Self.hugePageSize
        let address = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let address, address != MAP_FAILED else { return nil }
        let aligned = (Int(bitPattern: address) + Self.hugePageSize - 1) & ~(Self.hugePageSize - 1)
        base = UnsafeMutableRawPointer(bitPattern: aligned)!
        self.length = length
        mapping = (address, total)
        #if os(Linux)
        _ = madvise(base, length, MADV_HUGEPAGE)  // advice only: without it the memory is still correct
        #endif
    }

    deinit { munmap(mapping.start, mapping.length) }
}
