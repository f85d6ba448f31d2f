import Foundation

/// NPY, numpy's single-array file (`numpy.save` / `numpy.load`).
///
/// Reading gives one tensor named after the file's stem (`weight.npy` → `weight`), or, for a single unicode
/// string, one metadata entry of that name. Writing takes a state_dict of exactly one tensor and no metadata.
public enum NPYFormat: TensorFormat {
    public static let name = "NPY"
    public static let fileExtensions = ["npy"]

    public static func read(contentsOf url: URL) throws -> StateDict {
        try read(InputFile(path: url.filePath))
    }

    /// Reads an open file (a path's, or bytes held in memory); errors name `file.path`.
    static func read(_ file: InputFile) throws -> StateDict {
        let path = file.path
        var source = FileRegion(file: file)
        let name = file.stem
        var result = StateDict()
        switch try NPYArray.read(from: &source, path: path, name: name) {
        case .tensor(let tensor): result.tensors[name] = tensor
        case .string(let text): result.metadata[name] = text
        }
        return result
    }

    public static func write(_ stateDict: StateDict, to url: URL, options: WriteOptions = WriteOptions()) throws {
        let path = url.filePath
        guard stateDict.tensors.count == 1, stateDict.metadata.isEmpty, let (name, tensor) = stateDict.tensors.elements.first else {
            throw TensorFileError(path: path, problem: .cannotStore(
                "an NPY file holds one array, not \(stateDict.tensors.count) tensors and \(stateDict.metadata.count) metadata entries (write NPZ instead)"))
        }
        let header = try NPYArray.header(for: tensor, path: path, name: name)
        try AtomicOutput.write(to: path, replacing: options.replaceExisting) { file in
            try file.write(header)
            try tensor.withUnsafeBytes { try file.write($0) }
        }
    }
}
