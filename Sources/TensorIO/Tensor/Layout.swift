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
        let rank = shape.count
        // Stride (in elements) of each output axis within the column-major source.
        var sourceStrides = [Int](repeating: 1, count: rank)
        for axis in 1..<max(rank, 1) where rank > 0 { sourceStrides[axis] = sourceStrides[axis - 1] * shape[axis - 1] }
        return strided(columnMajor, shape: shape, base: 0, strides: sourceStrides)
    }

    /// The row-major tensor of `shape` whose element at index `i` is `source`'s element `base + Σ i[k]·strides[k]`
    /// (a transpose, a slice with steps, or both). The caller checks that every such element is inside `source`
    /// and that the result's size can be allocated.
    static func strided(_ source: Tensor, shape: [Int], base: Int, strides: [Int]) -> Tensor {
        let size = source.dtype.byteSize
        var result = try! Tensor(zeros: source.dtype, shape: shape)  // checked by the caller: cannot fail
        let rank = shape.count
        let count = result.elementCount
        guard count > 0 else { return result }
        guard rank > 0 else {
            source.withUnsafeBytes { from in
                result.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: from.baseAddress! + base * size, byteCount: size) }
            }
            return result
        }
        source.withUnsafeBytes { source in
            result.withUnsafeMutableBytes { target in
                var index = [Int](repeating: 0, count: rank)
                var sourceElement = base
                let innerCount = shape[rank - 1], innerStride = strides[rank - 1]
                var targetElement = 0
                while targetElement < count {
                    for i in 0..<innerCount {
                        let from = (sourceElement + i * innerStride) * size
                        (target.baseAddress! + (targetElement + i) * size)
                            .copyMemory(from: source.baseAddress! + from, byteCount: size)
                    }
                    targetElement += innerCount
                    // Advance the odometer over the outer axes.
                    var axis = rank - 2
                    while axis >= 0 {
                        index[axis] += 1
                        sourceElement += strides[axis]
                        if index[axis] < shape[axis] { break }
                        sourceElement -= strides[axis] * shape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
        return result
    }
}
