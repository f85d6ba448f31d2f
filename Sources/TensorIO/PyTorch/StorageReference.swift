/// One storage of a checkpoint, as its persistent id `('storage', torch.FloatStorage, key, location, numel)`
/// declares it: the record `data/<key>` of the archive holds `elementCount` elements of `type.dtype`.
struct StorageReference: Equatable {
    /// The record's name under `data/`, e.g. `"0"`.
    let key: String
    /// The storage class, hence the element type.
    let type: TorchStorageType
    /// The declared number of elements (bytes for an untyped storage).
    let elementCount: Int
}
