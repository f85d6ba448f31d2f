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
        let size = columnMajor.dtype.byteSize
        var result = try! Tensor(zeros: columnMajor.dtype, shape: shape)  // same size as the input: cannot fail
        let rank = shape.count
        // Stride (in elements) of each output axis within the column-major source.
        var sourceStrides = [Int](repeating: 1, count: rank)
        for axis in 1..<rank { sourceStrides[axis] = sourceStrides[axis - 1] * shape[axis - 1] }
        let count = columnMajor.elementCount
        guard count > 0 else { return result }
        columnMajor.withUnsafeBytes { source in
            result.withUnsafeMutableBytes { target in
                var index = [Int](repeating: 0, count: rank)
                var sourceElement = 0
                let innerCount = shape[rank - 1], innerStride = sourceStrides[rank - 1]
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
                        sourceElement += sourceStrides[axis]
                        if index[axis] < shape[axis] { break }
                        sourceElement -= sourceStrides[axis] * shape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
        return result
    }
}
