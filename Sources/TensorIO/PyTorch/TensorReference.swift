/// A tensor of a checkpoint, as torch's rebuild function describes it: a strided view of a storage.
///
/// Nothing here is checked against the storage yet: `TorchCheckpointFormat` does that, naming the tensor,
/// before it reads any data. A class so that the memo's sharing is kept: one tensor under two names (tied
/// weights) is read once.
final class TensorReference {
    let storage: StorageReference
    /// The tensor's element type: the storage's, or `_rebuild_tensor_v3`'s dtype argument.
    let dtype: DType
    /// The first element's index in the storage, in elements of `dtype`.
    let offset: Int
    let shape: [Int]
    /// The distance between neighbours along each dimension, in elements of `dtype`.
    let strides: [Int]

    init(storage: StorageReference, dtype: DType, offset: Int, shape: [Int], strides: [Int]) {
        self.storage = storage
        self.dtype = dtype
        self.offset = offset
        self.shape = shape
        self.strides = strides
    }
}
