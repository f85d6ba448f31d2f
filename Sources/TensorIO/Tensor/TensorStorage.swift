/// The bytes of one tensor: a single 64-byte aligned allocation, zero-filled when created.
///
/// A class so that `Tensor` can share it and copy only on write; readers fill it in place, so a tensor read
/// from a file is not copied again after the read.
final class TensorStorage: @unchecked Sendable {
    /// 64 bytes: a cache line, and the alignment numpy's NPY format gives the data it writes.
    static let alignment = 64

    let bytes: UnsafeMutableRawBufferPointer

    init(byteCount: Int) {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: Self.alignment)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
        bytes = UnsafeMutableRawBufferPointer(start: raw, count: byteCount)
    }

    func copy() -> TensorStorage {
        let result = TensorStorage(byteCount: bytes.count)
        if bytes.count > 0 { result.bytes.copyMemory(from: UnsafeRawBufferPointer(bytes)) }
        return result
    }

    deinit { bytes.baseAddress!.deallocate() }
}
