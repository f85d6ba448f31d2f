/// A fixed-size, 64-byte aligned array of floats or doubles: packed weights and the forward pass's work buffers.
///
/// Aligned so that every vector load of a packed block stays in one cache line. A class, shared and never resized;
/// weights are written once while loading and only read afterwards, which is what makes it safe to share.
final class AlignedBuffer<Element: ForwardScalar>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Element>
    let count: Int

    /// `count` elements, zero-filled unless `zeroed` is false (a buffer that is written before it is read).
    init(count: Int, zeroed: Bool = true) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Element>.stride, alignment: 64)
        if zeroed { raw.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1) * MemoryLayout<Element>.stride) }
        pointer = raw.bindMemory(to: Element.self, capacity: max(count, 1))
    }

    /// A copy of `values`.
    convenience init(_ values: [Element]) {
        self.init(count: values.count, zeroed: false)
        values.withUnsafeBufferPointer { if let base = $0.baseAddress { pointer.update(from: base, count: values.count) } }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}
