import Foundation

/// A file format for named tensors: a read and a write function, nothing else.
///
/// Each format lives in its own folder (`NPY/`, `NPZ/`, `HDF5/`); `TensorFile` picks one by a file's first
/// bytes when reading and by its extension when writing.
public protocol TensorFormat {
    /// The name users see, e.g. "NPZ".
    static var name: String { get }
    /// The file extensions that select this format when writing, lowercase and without the dot.
    static var fileExtensions: [String] { get }
    /// Reads every tensor and the metadata of the file at `url`; throws `TensorFileError`.
    static func read(contentsOf url: URL) throws -> StateDict
    /// Writes `stateDict` to `url` atomically (a complete new file or the old one untouched); throws `TensorFileError`.
    static func write(_ stateDict: StateDict, to url: URL, options: WriteOptions) throws
}

/// Choices a writer may honour; each format documents which ones it uses.
public struct WriteOptions: Sendable, Equatable {
    /// Compress the data: deflate in NPZ, gzip (with shuffle) in HDF5.
    public var compress: Bool
    /// HDF5 only: store `a.b.c` as dataset `c` in groups `a/b` instead of one dataset named `a.b.c` at the root.
    public var nestedGroups: Bool

    /// Replace a file that is already at the destination (the default, as `Data.write` does). When false, any
    /// existing path, a dangling symbolic link included, is an `alreadyExists` error, decided by the final
    /// rename itself, so of several writers racing for one new path exactly one succeeds.
    public var replaceExisting: Bool

    /// Options with everything off unless given; existing files are replaced.
    public init(compress: Bool = false, nestedGroups: Bool = false, replaceExisting: Bool = true) {
        self.compress = compress
        self.nestedGroups = nestedGroups
        self.replaceExisting = replaceExisting
    }
}

extension URL {
    /// The path as the file system sees it (no percent-encoding).
    var filePath: String { relativePath }
}
