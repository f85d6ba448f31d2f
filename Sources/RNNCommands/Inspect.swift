import ArgumentParser
import Foundation
import TensorIO

/// `rnn-inspect FILE`: lists a tensor file's tensors (name, dtype, shape, bytes) and its metadata.
public struct Inspect: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rnn-inspect",
        abstract: "List the tensors and metadata of an NPY, NPZ or HDF5 file.",
        discussion: """
            Examples:
              rnn-inspect model.h5
              rnn-inspect weights.npz
            """)

    @Argument(help: "The file to inspect (.npy, .npz, .h5/.hdf5; the format is read from its first bytes).")
    var file: String

    public init() {}

    public func run() throws {
        let url = URL(fileURLWithPath: file)
        let stateDict = try TensorFile.read(contentsOf: url)
        let format = try TensorFile.format(of: url)
        print(InspectReport(file: file, format: format.name, stateDict: stateDict).text)
    }
}

/// The text `rnn-inspect` prints, kept apart from the command so tests can check it.
public struct InspectReport {
    public let file: String
    public let format: String
    public let stateDict: StateDict

    /// A report about `stateDict`, read from `file` in `format`.
    public init(file: String, format: String, stateDict: StateDict) {
        self.file = file
        self.format = format
        self.stateDict = stateDict
    }

    /// A header line, an aligned table of tensors, then the metadata.
    public var text: String {
        let count = stateDict.tensors.count
        var lines = ["\(file): \(format), \(count) \(count == 1 ? "tensor" : "tensors"), \(stateDict.byteCount) bytes"]
        let rows = stateDict.tensors.map { name, tensor in
            [name, tensor.dtype.rawValue, "[" + tensor.shape.map(String.init).joined(separator: ", ") + "]", "\(tensor.byteCount)"]
        }
        let table = [["name", "dtype", "shape", "bytes"]] + rows
        let widths = (0..<4).map { column in table.map { $0[column].count }.max() ?? 0 }
        for row in table {
            let cells = row.enumerated().map { column, cell in
                column == 3 ? String(repeating: " ", count: widths[column] - cell.count) + cell
                    : cell + String(repeating: " ", count: widths[column] - cell.count)
            }
            lines.append("  " + cells.joined(separator: "  "))
        }
        if stateDict.metadata.isEmpty {
            lines.append("metadata: none")
        } else {
            lines.append("metadata:")
            for (key, value) in stateDict.metadata { lines.append("  \(key) = \(value)") }
        }
        return lines.joined(separator: "\n")
    }
}
