/// A tensor's place in its storage — offset, shape and strides in elements — checked to lie inside the
/// storage, and the copy of the elements it selects into row-major order.
///
/// torch saves a view (a transposed weight `w.t()`, a slice `w[1:]`) as its whole storage plus this
/// description; several tensors may share one storage.
struct StorageView {
    let dtype: DType
    let offset: Int
    let shape: [Int]
    let strides: [Int]
    /// The bytes of the row-major tensor the view gathers.
    let byteCount: Int
    /// True when the view is its storage's bytes exactly, in order: the data can be read straight into the tensor.
    let isWholeStorage: Bool

    /// Checks `reference` against a storage of `storageBytes` bytes; throws `TensorFileError` naming `name`
    /// for a negative or overflowing size, a negative stride or offset, or an element outside the storage.
    init(_ reference: TensorReference, storageBytes: Int, path: String, name: String) throws {
        func fail(_ problem: TensorFileError.Problem) -> TensorFileError {
            TensorFileError(path: path, tensor: name, problem: problem)
        }
        let size = reference.dtype.byteSize
        guard let count = Tensor.elementCount(of: reference.shape),
              let bytes = Tensor.byteCount(of: reference.shape, dtype: reference.dtype)
        else { throw fail(.invalidShape(reference.shape)) }
        guard reference.offset >= 0, reference.strides.allSatisfy({ $0 >= 0 }) else {
            throw fail(.malformed("storage offset \(reference.offset) or strides \(reference.strides) are negative"))
        }
        if count > 0 {
            // The furthest element the view touches: offset + Σ (size − 1) × stride, with no overflow.
            var last = reference.offset
            var overflow = false
            for (dimension, stride) in zip(reference.shape, reference.strides) {
                let (step, o1) = (dimension - 1).multipliedReportingOverflow(by: stride)
                let (sum, o2) = last.addingReportingOverflow(step)
                overflow = overflow || o1 || o2
                last = sum
            }
            let (end, o3) = (last &+ 1).multipliedReportingOverflow(by: size)
            guard !overflow, !o3, last < Int.max, end <= storageBytes else {
                throw fail(.malformed(
                    "the view (offset \(reference.offset), shape \(reference.shape), strides \(reference.strides)) reaches past its storage \"\(reference.storage.key)\" of \(storageBytes) bytes"))
            }
        }
        dtype = reference.dtype
        offset = reference.offset
        shape = reference.shape
        strides = reference.strides
        byteCount = bytes
        var contiguous = true
        var expected = 1
        for (dimension, stride) in zip(shape, strides).reversed() where dimension != 1 {
            if stride != expected { contiguous = false }
            expected &*= dimension
        }
        isWholeStorage = offset == 0 && contiguous && bytes == storageBytes
    }

    /// Copies the selected elements of `storage` into `target` (`byteCount` bytes) in row-major order.
    func gather(from storage: UnsafeRawBufferPointer, into target: UnsafeMutableRawBufferPointer) {
        Layout.gather(from: storage, elementSize: dtype.byteSize, base: offset, shape: shape, strides: strides,
                      into: UnsafeMutableRawBufferPointer(rebasing: target[..<byteCount]))
    }
}
