/// Byte-order and memory-order conversions applied while reading.
enum ByteOrder {
    /// Reverses the bytes of every `elementSize`-byte element in place.
    static func swap(_ buffer: UnsafeMutableRawBufferPointer, elementSize: Int) {
        let count = buffer.count / elementSize
        switch elementSize {
        case 2:
            let p = buffer.bindMemory(to: UInt16.self)
            for i in 0..<count { p[i] = p[i].byteSwapped }
        case 4:
            let p = buffer.bindMemory(to: UInt32.self)
            for i in 0..<count { p[i] = p[i].byteSwapped }
        case 8:
            let p = buffer.bindMemory(to: UInt64.self)
            for i in 0..<count { p[i] = p[i].byteSwapped }
        default:
            break
        }
    }
}

enum Layout {
    /// The row-major tensor of `shape` whose data is `columnMajor`'s bytes read in column-major order.
    ///
    /// `columnMajor` has the reversed shape: column-major data of shape (a, b, c) is exactly row-major data of
    /// shape (c, b, a), so this is a full axis reversal (a transpose).
    static func transposed(_ columnMajor: Tensor, to shape: [Int]) -> Tensor {
        // Stride (in elements) of each output axis within the column-major source.
        var sourceStrides = [Int](repeating: 1, count: shape.count)
        for axis in shape.indices.dropFirst() { sourceStrides[axis] = sourceStrides[axis - 1] * shape[axis - 1] }
        return strided(columnMajor, shape: shape, base: 0, strides: sourceStrides)
    }

    /// The row-major tensor of `shape` whose element at index `i` is `source`'s element `base + Σ i[k]·strides[k]`
    /// (a transpose, a slice with steps, or both). The caller checks that every such element is inside `source`
    /// and that the result's size can be allocated.
    static func strided(_ source: Tensor, shape: [Int], base: Int, strides: [Int]) -> Tensor {
        var result = try! Tensor(zeros: source.dtype, shape: shape)  // checked by the caller: cannot fail
        source.withUnsafeBytes { from in
            result.withUnsafeMutableBytes { gather(from: from, elementSize: source.dtype.byteSize, base: base, shape: shape, strides: strides, into: $0) }
        }
        return result
    }

    /// Fills `target` (the row-major elements of `shape`, `elementSize` bytes each) with the elements of `source`
    /// at `base + Σ i[k]·strides[k]` for each index `i`. The caller checks that every such element is inside
    /// `source`. Wrapping arithmetic: an axis of size 1 may have any stride (torch ignores it), so the
    /// intermediate sums may overflow and come back.
    static func gather(from source: UnsafeRawBufferPointer, elementSize size: Int, base: Int, shape: [Int], strides: [Int],
                       into target: UnsafeMutableRawBufferPointer) {
        guard target.count > 0, let from = source.baseAddress, let to = target.baseAddress else { return }
        let rank = shape.count
        guard rank > 0 else {
            to.copyMemory(from: from + base * size, byteCount: size)
            return
        }
        let innerCount = shape[rank - 1], innerStride = strides[rank - 1]
        var index = [Int](repeating: 0, count: rank)
        var element = base
        var written = 0
        while written < target.count {
            if innerStride == 1 {
                (to + written).copyMemory(from: from + element * size, byteCount: innerCount * size)
            } else {
                for i in 0..<innerCount {
                    (to + written + i * size).copyMemory(from: from + (element + i * innerStride) * size, byteCount: size)
                }
            }
            written += innerCount * size
            // Advance the odometer over the outer axes.
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                element &+= strides[axis]
                if index[axis] < shape[axis] { break }
                element &-= strides[axis] &* shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}
