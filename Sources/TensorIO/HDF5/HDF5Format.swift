import Foundation

/// HDF5 through libhdf5: one dataset per tensor, groups flattened with dots, root string attributes as metadata.
///
/// Reading opens the file read-only and refuses anything that would reach outside it (soft and external links,
/// virtual datasets, external storage, filter plugins). Writing follows `WriteOptions`: `compress` for gzip,
/// `nestedGroups` to store `a.b.c` as `a/b/c` instead of a root dataset named `a.b.c`.
public enum HDF5Format: TensorFormat {
    public static let name = "HDF5"
    public static let fileExtensions = ["h5", "hdf5", "he5"]
    /// The 8-byte signature at the start of an HDF5 file (or at 512, 1024, … after a user block).
    static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Datasets whose bytes lie in the file exactly as the tensor wants them (contiguous, allocated, this
    /// machine's byte order: what h5py and we write) are located by libhdf5 and then read here like a stored NPZ
    /// member, in pieces on both cores and outside the library's lock; the others go through `H5Dread`.
    public static func read(contentsOf url: URL) throws -> StateDict {
        try read(InputFile(path: url.filePath))  // the same clear error as other formats for a missing or unreadable file
    }

    /// Reads an open file (a path's, or bytes held in memory); errors name `input.path`.
    static func read(_ input: InputFile) throws -> StateDict {
        let path = input.path
        // libhdf5 opens the file this process has checked (a regular file, opened without blocking).
        let (datasets, metadata) = try HDF5Library.locked { try HDF5Reader.read(path: path, opening: input.openingPath()) }
        var result = StateDict(metadata: metadata)
        for (name, dataset) in datasets {
            switch dataset {
            case .read(let tensor):
                result.tensors[name] = tensor
            case .located(let dtype, let shape, let offset):
                // The reader computed the size without overflow and made sure that offset + size fits an Int.
                let count = Tensor.byteCount(of: shape, dtype: dtype) ?? Int.max
                guard offset <= input.size, count <= input.size - offset else {
                    throw TensorFileError(path: path, tensor: name, problem: .truncated(expected: count > Int.max - offset ? Int.max : offset + count, found: input.size))
                }
                result.tensors[name] = try readLocated(dtype: dtype, shape: shape, at: offset, from: input)
            }
        }
        return result
    }

    /// A tensor whose bytes lie at `offset` in `input` (already checked to be inside it), read in pieces on both
    /// cores as NPZ's stored members are: 352 MB in 88 ms against 112 ms in one read when the other core was free
    /// (no difference when it was busy).
    static func readLocated(dtype: DType, shape: [Int], at offset: Int, from input: InputFile) throws -> Tensor {
        var tensor = try Tensor(zeros: dtype, shape: shape)
        try tensor.withUnsafeMutableBytes { try input.read(into: $0, at: offset, pieceSize: 1 << 20) { _, _ in } }
        return tensor
    }

    public static func write(_ stateDict: StateDict, to url: URL, options: WriteOptions = WriteOptions()) throws {
        let path = url.filePath
        try AtomicOutput.write(to: path, replacing: options.replaceExisting) { (temporaryPath: String) in
            try HDF5Library.locked {
                try HDF5Writer(path: path, options: options).write(stateDict, toTemporary: temporaryPath)
            }
        }
    }
}
