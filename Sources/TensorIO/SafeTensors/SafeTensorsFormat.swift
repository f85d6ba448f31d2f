import Foundation

/// safetensors, Hugging Face's format (`safetensors.numpy.save_file`, `safetensors.torch.save_file`).
///
/// Reading validates the whole header against the file before touching any data, then reads each tensor
/// straight into its storage; tensors come out in the order of their data, metadata is the header's
/// `__metadata__`. Writing lays the file out as the safetensors package does (tensors sorted by dtype size, then
/// name; the header padded with spaces so the data is 8-byte aligned), so the same tensors and metadata give
/// the same bytes. bfloat16 is stored natively (`BF16`). Neither compression nor nested groups exist in the
/// format: `WriteOptions` are ignored.
public enum SafeTensorsFormat: TensorFormat {
    public static let name = "safetensors"
    public static let fileExtensions = ["safetensors"]

    public static func read(contentsOf url: URL) throws -> StateDict {
        try read(InputFile(path: url.filePath))
    }

    /// Reads an open file (a path's, or bytes held in memory); errors name `file.path`.
    static func read(_ file: InputFile) throws -> StateDict {
        let path = file.path
        let header = try SafeTensorsHeader.read(from: file)
        var result = StateDict(metadata: header.metadata)
        result.tensors.reserveCapacity(header.entries.count)
        for entry in header.entries {
            // The header check has already proved the shape valid and its bytes inside the file.
            guard var tensor = try? Tensor(zeros: entry.dtype, shape: entry.shape) else {
                throw TensorFileError(path: path, tensor: entry.name, problem: .invalidShape(entry.shape))
            }
            do {
                try tensor.withUnsafeMutableBytes { try file.read(into: $0, at: header.dataOffset + entry.begin) }
            } catch let error as TensorFileError {
                throw error.inTensor(entry.name)
            }
            if entry.dtype == .bool, let bad = tensor.withUnsafeBytes({ bytes in bytes.firstIndex { $0 > 1 } }) {
                let value = tensor.withUnsafeBytes { $0[bad] }
                throw TensorFileError(path: path, tensor: entry.name, problem: .malformed(
                    "BOOL element \(bad) is the byte \(value) (only 0 and 1 are booleans)"))
            }
            result.tensors[entry.name] = tensor
        }
        return result
    }

    public static func write(_ stateDict: StateDict, to url: URL, options: WriteOptions = WriteOptions()) throws {
        let path = url.filePath
        let header = try SafeTensorsHeader(layingOut: stateDict, path: path)
        try AtomicOutput.write(to: path, replacing: options.replaceExisting) { file in
            try file.write(header.encoded())
            for entry in header.entries {
                try stateDict.tensors[entry.name]?.withUnsafeBytes { try file.write($0) }
            }
        }
    }

    /// True when `file` starts like a safetensors file: a header length N with 2 ≤ N ≤ size − 8, and a header
    /// whose first byte other than JSON whitespace (within its first 64 bytes) is `{`. Used to pick the format
    /// by content; it reads at most 72 bytes.
    static func matches(_ file: InputFile) -> Bool {
        guard file.size >= 10, let head = try? file.bytes(at: 0, count: min(file.size, 72)) else { return false }
        let declared = head[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard declared >= 2, declared <= UInt64(file.size - 8) else { return false }
        let start = head[8..<min(head.count, 8 + Int(declared))].first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        return start == UInt8(ascii: "{")
    }
}
