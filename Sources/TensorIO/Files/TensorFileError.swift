/// Why a tensor file could not be read or written: the file, the tensor when one is at fault, and the problem.
///
/// `description` is one line a person can act on, e.g.
/// `model.npz: tensor "weight_ih_l0": data ends after 12 of 48 bytes (the file is truncated)`.
public struct TensorFileError: Error, Equatable, Codable, CustomStringConvertible {
    /// The path of the file, as the caller gave it.
    public var path: String
    /// The tensor (or archive entry, or dataset) at fault, when the problem is in one.
    public var tensor: String?
    /// What is wrong.
    public var problem: Problem

    /// An error about `path` (and `tensor`, when given).
    public init(path: String, tensor: String? = nil, problem: Problem) {
        self.path = path
        self.tensor = tensor
        self.problem = problem
    }

    /// The kinds of problems a file can have; each carries the details a person needs.
    public enum Problem: Equatable, Sendable, Codable, CustomStringConvertible {
        /// The operating system refused to open, read or write the file (`message` is its reason).
        case io(String)
        /// The first bytes match none of the formats the library reads.
        case unknownFormat
        /// The file (or an entry) ends before the data it declares: `expected` bytes, `found` bytes.
        case truncated(expected: Int, found: Int)
        /// Bytes remain after the data the header declares.
        case trailingBytes(Int)
        /// A header or directory breaks the format's rules; `detail` says which.
        case malformed(String)
        /// A well-formed element type the library will not read (objects, structures, complex, strings as data).
        case unsupportedDType(String)
        /// A declared shape has a negative dimension or a size that overflows.
        case invalidShape([Int])
        /// A declared size is larger than the file could hold or than the reader accepts.
        case tooLarge(String)
        /// A zip entry uses a feature the reader refuses (encryption, an unknown compression method).
        case unsupportedFeature(String)
        /// A zip entry's CRC-32 differs from the one its directory records.
        case checksumMismatch(expected: UInt32, found: UInt32)
        /// A zip entry name that could escape a folder or is repeated.
        case unsafeName(String)
        /// Two tensors have the same name after flattening.
        case duplicateName(String)
        /// The work was interrupted by `signal` (SIGINT, SIGTERM, SIGHUP): the HDF5 worker got Ctrl-C.
        case interrupted(signal: Int32)
        /// The destination of a write exists and replacing it was not allowed (`WriteOptions.replaceExisting`).
        case alreadyExists
        /// An HDF5 object the reader refuses to follow (soft or external link, virtual or external storage).
        case refusedLink(String)
        /// libhdf5 reported an error; `message` is its innermost description.
        case hdf5(String)
        /// The format cannot store what was asked (bfloat16 in NPY, say).
        case cannotStore(String)

        /// A stable one-word name of the case (`truncated`, `checksumMismatch`, …) for scripts and tests.
        public var kind: String {
            switch self {
            case .io: "io"
            case .unknownFormat: "unknownFormat"
            case .truncated: "truncated"
            case .trailingBytes: "trailingBytes"
            case .malformed: "malformed"
            case .unsupportedDType: "unsupportedDType"
            case .invalidShape: "invalidShape"
            case .tooLarge: "tooLarge"
            case .unsupportedFeature: "unsupportedFeature"
            case .checksumMismatch: "checksumMismatch"
            case .unsafeName: "unsafeName"
            case .duplicateName: "duplicateName"
            case .alreadyExists: "alreadyExists"
            case .interrupted: "interrupted"
            case .refusedLink: "refusedLink"
            case .hdf5: "hdf5"
            case .cannotStore: "cannotStore"
            }
        }

        public var description: String {
            switch self {
            case .io(let message): message
            case .unknownFormat: "not an NPY, NPZ, HDF5, safetensors, PyTorch, Keras or ONNX file (unrecognised first bytes)"
            case .truncated(let expected, let found):
                "data ends after \(found) of \(expected) bytes (the file is truncated)"
            case .trailingBytes(let count): "\(count) unexpected bytes after the data"
            case .malformed(let detail): detail
            case .unsupportedDType(let detail): "unsupported element type: \(detail)"
            case .invalidShape(let shape): "invalid shape \(shape): a dimension is negative or the size overflows"
            case .tooLarge(let detail): detail
            case .unsupportedFeature(let detail): "unsupported: \(detail)"
            case .checksumMismatch(let expected, let found):
                "CRC-32 mismatch: the directory records \(hex(expected)), the data has \(hex(found)) (corrupt data)"
            case .unsafeName(let detail): "refused entry name: \(detail)"
            case .duplicateName(let name): "two tensors are named \"\(name)\""
            case .alreadyExists: "already exists"
            case .interrupted(let signal): "interrupted (signal \(signal))"
            case .refusedLink(let detail): "refused: \(detail)"
            case .hdf5(let message): "HDF5: \(message)"
            case .cannotStore(let detail): detail
            }
        }

        private func hex(_ value: UInt32) -> String {
            let digits = String(value, radix: 16)
            return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
        }
    }

    /// One line, always, safe to print: the path, the tensor's name and the problem's text (which may quote a
    /// file's strings) have their control characters escaped (`DisplayText.escaped`), so a name holding a line
    /// break or an escape sequence can neither add a line nor reach the terminal raw.
    public var description: String {
        let text = tensor.map { "\(path): tensor \"\($0)\": \(problem)" } ?? "\(path): \(problem)"
        return DisplayText.escaped(text)
    }
}

extension TensorFileError {
    /// The same problem attributed to `tensor`, unless a tensor is already named.
    func inTensor(_ name: String) -> TensorFileError {
        var copy = self
        if copy.tensor == nil { copy.tensor = name }
        return copy
    }
}
