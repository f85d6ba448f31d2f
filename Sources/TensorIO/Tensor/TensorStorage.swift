#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of one tensor: a 64-byte aligned allocation, zero-filled when created, or a slice of a mapped file.
///
/// A class so that `Tensor` can share it and copy only on write; readers fill it in place, so a tensor read
/// from a file is not copied again after the read.
final class TensorStorage: @unchecked Sendable {
    /// 64 bytes: a cache line, and the alignment numpy's NPY format gives the data it writes.
    static let alignment = 64

    let bytes: UnsafeMutableRawBufferPointer
    /// Keeps a shared mapping alive while this storage borrows part of it; nil for an owned allocation.
    private let owner: MappedRegion?

    init(byteCount: Int) {
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

    func copy() -> TensorStorage {
        let result = TensorStorage(byteCount: bytes.count)
        if bytes.count > 0 { result.bytes.copyMemory(from: UnsafeRawBufferPointer(bytes)) }
        return result
    }

    deinit { if owner == nil { bytes.baseAddress!.deallocate() } }
}

/// A private, writable mapping of a whole file; unmapped when the last tensor borrowing from it is gone.
///
/// Private (copy-on-write) so that writing to a tensor never writes to the file.
final class MappedRegion: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let length: Int

    /// Maps the file open as `descriptor`, `length` bytes; nil when mapping fails.
    init?(descriptor: Int32, length: Int) {
        guard length > 0 else { return nil }
        let address = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, descriptor, 0)
        guard let address, address != MAP_FAILED else { return nil }
        base = address
        self.length = length
    }

    deinit { munmap(base, length) }
}
