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

    public static func read(contentsOf url: URL) throws -> StateDict {
        let path = url.filePath
        _ = try InputFile(path: path)  // the same clear error as other formats for a missing or unreadable file
        return try HDF5Library.locked { try HDF5Reader.read(path: path) }
    }

    public static func write(_ stateDict: StateDict, to url: URL, options: WriteOptions = WriteOptions()) throws {
        let path = url.filePath
        try AtomicOutput.write(to: path) { (temporaryPath: String) in
            try HDF5Library.locked {
                try HDF5Writer(path: path, options: options).write(stateDict, toTemporary: temporaryPath)
            }
        }
    }
}
