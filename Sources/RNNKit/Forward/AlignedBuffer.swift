import Foundation

/// A fixed-size, 64-byte aligned array of floats or doubles: packed weights and the forward pass's work buffers.
///
/// Aligned so that every vector load of a packed block stays in one cache line. A class, shared and never resized;
/// weights are written once while loading and only read afterwards, which is what makes it safe to share.
final class AlignedBuffer<Element: ForwardScalar>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Element>
    let count: Int
    private let block: MemoryBlock

    /// `count` elements, zero-filled unless `zeroed` is false (a buffer that is written before it is read). A
    /// `recycled` buffer comes from, and goes back to, `MemoryBlock.pool` (work buffers of the forward pass).
    init(count: Int, zeroed: Bool = true, recycled: Bool = false) {
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<Element>.stride
        block = recycled ? MemoryBlock.pool.take(bytes) : MemoryBlock(bytes: bytes, recycled: false)
        if zeroed { block.pointer.initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
        pointer = block.pointer.bindMemory(to: Element.self, capacity: max(count, 1))
    }

    /// A copy of `values`.
    convenience init(_ values: [Element]) {
        self.init(count: values.count, zeroed: false)
        values.withUnsafeBufferPointer { if let base = $0.baseAddress { pointer.update(from: base, count: values.count) } }
    }

    deinit { if block.recycled { MemoryBlock.pool.give(block) } }
}

/// One 64-byte aligned allocation, freed when the last reference goes.
final class MemoryBlock: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let bytes: Int
    let recycled: Bool

    init(bytes: Int, recycled: Bool) {
        self.bytes = bytes
        self.recycled = recycled
        pointer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    }

    deinit { pointer.deallocate() }

    /// The forward pass's work buffers, kept from one call to the next (up to 64 MB in all): fresh ones of that
    /// size would be mapped afresh by malloc every call and fault every page in again.
    static let pool = Pool(limit: 64 << 20)

    /// Free blocks, by size; thread-safe.
    final class Pool: @unchecked Sendable {
        private let lock = NSLock()
        private var free: [MemoryBlock] = []
        private let limit: Int

        init(limit: Int) { self.limit = limit }

        /// A block of at least `bytes` bytes (and at most twice that): a kept one, or a new one.
        func take(_ bytes: Int) -> MemoryBlock {
            lock.lock()
            defer { lock.unlock() }
            if let index = free.indices.filter({ free[$0].bytes >= bytes && free[$0].bytes <= 2 * bytes })
                .min(by: { free[$0].bytes < free[$1].bytes }) {
                return free.remove(at: index)
            }
            return MemoryBlock(bytes: bytes, recycled: true)
        }

        /// Keeps `block` for a later `take`, unless that would keep more than the limit (then the largest go).
        func give(_ block: MemoryBlock) {
            lock.lock()
            defer { lock.unlock() }
            free.append(block)
            free.sort { $0.bytes < $1.bytes }
            var total = free.reduce(0) { $0 + $1.bytes }
            while total > limit, let largest = free.popLast() { total -= largest.bytes }
        }
    }
}
