import ArgumentParser
import Foundation
import RNNKit

/// The formats the commands write, chosen by an output's extension (or `--to`): one rule for every command.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case npz, h5, safetensors, onnx
    /// Keras 3 models (`.keras`) and weights (`.weights.h5`, which `model.load_weights` takes).
    case keras, kerasWeights = "weights.h5"

    /// The format an output path names by its extension, if any.
    init?(path: String) {
        if path.lowercased().hasSuffix(".weights.h5") {
            self = .kerasWeights
            return
        }
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "keras": self = .keras
        case "npz": self = .npz
        case "h5", "hdf5", "he5": self = .h5
        case "safetensors": self = .safetensors
        case "onnx": self = .onnx
        default: return nil
        }
    }

    /// The tensor format, or nil for ONNX and Keras (models, written by `RNN.writeONNX` and `RNN.writeKeras`).
    var tensorFormat: (any TensorFormat.Type)? {
        switch self {
        case .npz: NPZFormat.self
        case .h5: HDF5Format.self
        case .safetensors: SafeTensorsFormat.self
        case .onnx, .keras, .kerasWeights: nil
        }
    }

    /// True for the formats that hold a model rather than tensors.
    var isModel: Bool { tensorFormat == nil }

    /// The format of `path` among `allowed`, else a usage error (exit 64) that says which extensions work.
    static func of(_ path: String, allowed: [OutputFormat], orElse: String = "") throws -> OutputFormat {
        let names = allowed.map { "." + $0.rawValue }
        let list = names.dropLast().joined(separator: ", ") + " or " + names.last!
        guard let format = OutputFormat(path: path) else {
            let ext = URL(fileURLWithPath: path).pathExtension
            throw ValidationError("-o \(DisplayText.escaped(path)): " + (ext.isEmpty ? "no extension" : "unknown extension \".\(DisplayText.escaped(ext))\"") + " (use \(list)\(orElse))")
        }
        guard allowed.contains(format) else {
            throw ValidationError("-o \(DisplayText.escaped(path)): this command writes \(list), not .\(format.rawValue)" + (format.isModel ? " (\(format == .onnx ? "an ONNX" : "a Keras") file holds a model, not results)" : ""))
        }
        return format
    }
}
