/// How Keras's recurrent weights become PyTorch's and back: the one place both directions use (`KerasFile`
/// reads with it, `RNN.writeKeras` writes with it).
///
/// - `weight_ih = kernel.T`, `weight_hh = recurrent_kernel.T` (Keras keeps [inputs, gates·units]).
/// - Gate blocks: LSTM i, f, c, o are PyTorch's i, f, g, o; GRU z, r, h are PyTorch's n-last r, z, n, so the
///   first two blocks swap; SimpleRNN has one.
/// - Biases: Keras's one bias row is `bias_ih` (with `bias_hh` zero); a GRU with `reset_after=True` has two rows,
///   input then recurrent, which are `bias_ih` and `bias_hh`. Written back, PyTorch's two biases are summed
///   where Keras has one row.
///
/// Every transform moves elements without arithmetic (the bias sum aside), so it is exact in any dtype.
package enum KerasMapping {
    /// Keras's gate block that PyTorch's block `j` is, for a layer of `gates` gates (the permutation is its own
    /// inverse: the same table maps PyTorch's blocks to Keras's).
    package static func gateOrder(gates: Int) -> [Int] { gates == 3 ? [1, 0, 2] : Array(0..<gates) }

    /// PyTorch's `[G·H, I]` weight from Keras's `[I, G·H]` kernel (or the inverse: the transform is symmetric
    /// given `gateOrder`): row `j·H + u` is column `order[j]·H + u`.
    package static func transposed(_ matrix: Tensor, gates: Int, rowsAreGates: Bool) throws -> Tensor {
        let rows = matrix.shape[0], columns = matrix.shape[1]
        let gateWidth = rowsAreGates ? rows : columns, other = rowsAreGates ? columns : rows
        let units = gateWidth / gates, order = gateOrder(gates: gates), size = matrix.dtype.byteSize
        var result = try Tensor(zeros: matrix.dtype, shape: [columns, rows])
        matrix.withUnsafeBytes { source in
            result.withUnsafeMutableBytes { target in
                for block in 0..<gates {
                    for unit in 0..<units {
                        let from = order[block] * units + unit, to = block * units + unit
                        for k in 0..<other {
                            // Source element (row, column) → target element (column, row).
                            let (sourceRow, sourceColumn) = rowsAreGates ? (from, k) : (k, from)
                            let (targetRow, targetColumn) = rowsAreGates ? (k, to) : (to, k)
                            (target.baseAddress! + (targetRow * rows + targetColumn) * size)
                                .copyMemory(from: source.baseAddress! + (sourceRow * columns + sourceColumn) * size, byteCount: size)
                        }
                    }
                }
            }
        }
        return result
    }

    /// A bias vector `[G·H]` with its gate blocks in the other framework's order.
    package static func reordered(_ bias: Tensor, gates: Int) throws -> Tensor {
        let units = bias.elementCount / gates, order = gateOrder(gates: gates), size = bias.dtype.byteSize
        var result = try Tensor(zeros: bias.dtype, shape: [bias.elementCount])
        bias.withUnsafeBytes { source in
            result.withUnsafeMutableBytes { target in
                for block in 0..<gates {
                    (target.baseAddress! + block * units * size)
                        .copyMemory(from: source.baseAddress! + order[block] * units * size, byteCount: units * size)
                }
            }
        }
        return result
    }

    /// PyTorch's `bias_ih` and `bias_hh` from a Keras bias: `[G·H]` (one row: `bias_hh` is zeros) or `[2, G·H]`
    /// (a GRU with `reset_after=True`: input row, recurrent row).
    package static func torchBiases(_ bias: Tensor, gates: Int) throws -> (ih: Tensor, hh: Tensor) {
        if bias.shape.count == 2 {
            let width = bias.shape[1], size = bias.dtype.byteSize
            var rows = [try Tensor(zeros: bias.dtype, shape: [width]), try Tensor(zeros: bias.dtype, shape: [width])]
            bias.withUnsafeBytes { source in
                for row in 0..<2 {
                    rows[row].withUnsafeMutableBytes {
                        $0.baseAddress!.copyMemory(from: source.baseAddress! + row * width * size, byteCount: width * size)
                    }
                }
            }
            return (try reordered(rows[0], gates: gates), try reordered(rows[1], gates: gates))
        }
        return (try reordered(bias, gates: gates), try Tensor(zeros: bias.dtype, shape: bias.shape))
    }

    /// Keras's bias from PyTorch's: two rows `[2, G·H]` when `twoRows` (a GRU with `reset_after=True`), else one
    /// row holding `bias_ih + bias_hh`, rounded once to the dtype.
    package static func kerasBias(ih: Tensor, hh: Tensor, gates: Int, twoRows: Bool) throws -> Tensor {
        let input = try reordered(ih, gates: gates), recurrent = try reordered(hh, gates: gates)
        if twoRows {
            let width = ih.elementCount, size = ih.dtype.byteSize
            var result = try Tensor(zeros: ih.dtype, shape: [2, width])
            result.withUnsafeMutableBytes { target in
                input.withUnsafeBytes { target.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: width * size) }
                recurrent.withUnsafeBytes { (target.baseAddress! + width * size).copyMemory(from: $0.baseAddress!, byteCount: width * size) }
            }
            return result
        }
        let sum = zip(try input.doubleValues(), try recurrent.doubleValues()).map { $0 + $1 }
        return try Tensor(shape: [sum.count], elements: sum).converted(to: ih.dtype)
    }
}
