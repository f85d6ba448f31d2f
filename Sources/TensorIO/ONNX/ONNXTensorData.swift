import Foundation

/// Turns a decoded `TensorProto` into a `Tensor`: `raw_data` (little-endian), the typed fields (`float_data`,
/// `double_data`, `int32_data` holding int8 to uint16, bool, float16 and bfloat16 bit patterns, `int64_data`,
/// `uint64_data`), or external data in a file beside the model.
///
/// External data is confined to the model's own folder: `location` must be a relative path without `..`, its
/// real path (symbolic links resolved) must stay inside the folder's, it must be a regular file, and
/// `offset`/`length` must lie inside it. A model read from bytes has no folder, so its external data is refused.
struct ONNXTensorData {
    let buffer: UnsafeRawBufferPointer
    /// The model file: its path names errors, its folder holds external data.
    let file: InputFile

    /// The tensor `proto` describes; errors name `proto.name` (or `role`, when the tensor has no name).
    func tensor(_ proto: ONNXProto.Tensor, role: String) throws -> Tensor {
        let name = proto.name.isEmpty ? role : proto.name
        func fail(_ problem: TensorFileError.Problem) -> TensorFileError {
            TensorFileError(path: file.path, tensor: name, problem: problem)
        }
        guard let dtype = proto.dataType.dtype else {
            throw fail(.unsupportedDType("ONNX \(proto.dataType.name)"))
        }
        guard let count = Tensor.elementCount(of: proto.dims), let bytes = Tensor.byteCount(of: proto.dims, dtype: dtype) else {
            throw fail(.invalidShape(proto.dims))
        }
        func sized(_ found: Int) throws {
            guard found == count else {
                throw fail(.malformed("holds \(found) elements where its dimensions \(proto.dims) need \(count)"))
            }
        }
        /// `raw_data`: little-endian, as the library's tensors are on every platform it builds for.
        func fromRawData(_ raw: UnsafeRawBufferPointer) throws -> Tensor {
            guard raw.count == bytes else {
                throw fail(.malformed("raw_data holds \(raw.count) bytes where \(proto.dims) × \(dtype) need \(bytes)"))
            }
            var tensor = try Tensor(zeros: dtype, shape: proto.dims)
            tensor.withUnsafeMutableBytes { $0.copyMemory(from: raw) }
            return try checkingBools(tensor, fail: fail)
        }
        switch proto.data {
        case .raw(let range):
            return try fromRawData(UnsafeRawBufferPointer(rebasing: buffer[range]))
        case .bytes(let raw):
            return try raw.withUnsafeBytes { try fromRawData($0) }
        case .floats(let values):
            guard dtype == .float32 else { throw fail(.malformed("a \(dtype) tensor fills float_data")) }
            try sized(values.count)
            return try Tensor(shape: proto.dims, elements: values)
        case .doubles(let values):
            guard dtype == .float64 else { throw fail(.malformed("a \(dtype) tensor fills double_data")) }
            try sized(values.count)
            return try Tensor(shape: proto.dims, elements: values)
        case .integers(let values):
            try sized(values.count)
            return try integers(values, dtype: dtype, shape: proto.dims, fail: fail)
        case .external(let entries):
            return try external(entries, dtype: dtype, shape: proto.dims, bytes: bytes, fail: fail)
        case .none:
            guard count == 0 else { throw fail(.malformed("holds no elements where its dimensions \(proto.dims) need \(count)")) }
            return try Tensor(zeros: dtype, shape: proto.dims)
        case .deferred:
            throw fail(.malformed("has deferred data (a model being written, not read)"))
        }
    }

    /// `tensor`, once a bool tensor's bytes are checked to be 0 or 1.
    private func checkingBools(_ tensor: Tensor, fail: (TensorFileError.Problem) -> TensorFileError) throws -> Tensor {
        if tensor.dtype == .bool, tensor.withUnsafeBytes({ $0.contains { $0 > 1 } }) {
            throw fail(.malformed("bool data holds a byte other than 0 or 1"))
        }
        return tensor
    }

    /// The integer fields' values as `dtype`: narrow types and 16-bit floats hold their value (or bit pattern)
    /// in `int32_data`, each of which must fit.
    private func integers(_ values: [Int64], dtype: DType, shape: [Int], fail: (TensorFileError.Problem) -> TensorFileError) throws -> Tensor {
        func narrow<T: FixedWidthInteger & TensorElement>(_: T.Type) throws -> Tensor {
            var result: [T] = []
            result.reserveCapacity(values.count)
            for value in values {
                guard let element = T(exactly: value) else { throw fail(.malformed("element \(value) does not fit \(dtype)")) }
                result.append(element)
            }
            return try Tensor(shape: shape, elements: result)
        }
        switch dtype {
        case .int8: return try narrow(Int8.self)
        case .int16: return try narrow(Int16.self)
        case .int32: return try narrow(Int32.self)
        case .int64: return try Tensor(shape: shape, elements: values)
        case .uint8: return try narrow(UInt8.self)
        case .uint16: return try narrow(UInt16.self)
        case .uint32: return try narrow(UInt32.self)
        case .uint64: return try Tensor(shape: shape, elements: values.map { UInt64(bitPattern: $0) })
        case .bool:
            guard values.allSatisfy({ $0 == 0 || $0 == 1 }) else { throw fail(.malformed("bool data holds a value other than 0 or 1")) }
            return try Self.bitPatterns(values.map { UInt8($0) }, as: .bool, shape: shape)
        case .float16, .bfloat16:
            var patterns: [UInt16] = []
            patterns.reserveCapacity(values.count)
            for value in values {
                guard let pattern = UInt16(exactly: value) else { throw fail(.malformed("element \(value) is not a 16-bit pattern")) }
                patterns.append(pattern)
            }
            return try Self.bitPatterns(patterns, as: dtype, shape: shape)
        case .float32, .float64:
            throw fail(.malformed("a \(dtype) tensor fills an integer field"))
        }
    }

    /// A tensor of `dtype` whose elements have the bit patterns `patterns` (of the same width).
    private static func bitPatterns<T>(_ patterns: [T], as dtype: DType, shape: [Int]) throws -> Tensor {
        var tensor = try Tensor(zeros: dtype, shape: shape)
        tensor.withUnsafeMutableBytes { target in patterns.withUnsafeBytes { target.copyMemory(from: $0) } }
        return tensor
    }

    /// The bytes `offset ..< offset + length` of the file `location` beside the model.
    private func external(_ entries: [(key: String, value: String)], dtype: DType, shape: [Int], bytes: Int,
                          fail: (TensorFileError.Problem) -> TensorFileError) throws -> Tensor {
        var fields: [String: String] = [:]
        for (key, value) in entries { fields[key] = value }
        guard let location = fields["location"], !location.isEmpty else { throw fail(.malformed("external data names no location")) }
        guard !file.isInMemory else {
            throw fail(.unsupportedFeature("its data is in an external file (\(location)), and a model read from bytes has no folder: read it by its path"))
        }
        let components = location.split(separator: "/", omittingEmptySubsequences: false)
        guard !location.hasPrefix("/"), !location.contains("\\"), !location.contains("\0"),
              !components.contains(where: { $0 == ".." || $0.isEmpty }) else {
            throw fail(.unsafeName("external data location \"\(location)\" leaves the model's folder (only relative paths without .. are read)"))
        }
        func number(_ key: String) throws -> Int? {
            guard let text = fields[key] else { return nil }
            guard let value = Int(text), value >= 0 else { throw fail(.malformed("external data \(key) \"\(text)\" is not a byte count")) }
            return value
        }
        let offset = try number("offset") ?? 0
        let folder = URL(fileURLWithPath: file.path).deletingLastPathComponent()
        let target = folder.appendingPathComponent(location).filePath
        // The real paths: a symbolic link inside the folder must not lead out of it.
        guard let realFolder = realPath(folder.filePath), let realTarget = realPath(target) else {
            throw fail(.io("external data file \(location): \(systemMessage("cannot open"))"))
        }
        guard realTarget.hasPrefix(realFolder.hasSuffix("/") ? realFolder : realFolder + "/") else {
            throw fail(.unsafeName("external data location \"\(location)\" leads out of the model's folder"))
        }
        let data: InputFile
        do { data = try InputFile(path: target) } catch let error as TensorFileError {
            throw fail(error.problem)
        }
        let length = try number("length") ?? (data.size - min(offset, data.size))
        guard length == bytes else {
            throw fail(.malformed("external data length \(length) where \(shape) × \(dtype) need \(bytes) bytes"))
        }
        guard offset <= data.size, data.size - offset >= length else {
            throw fail(.truncated(expected: offset + length, found: data.size))
        }
        var tensor = try Tensor(zeros: dtype, shape: shape)
        do {
            try tensor.withUnsafeMutableBytes { try data.read(into: $0, at: offset) }
        } catch let error as TensorFileError {
            throw fail(error.problem)
        }
        return try checkingBools(tensor, fail: fail)
    }

    private func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
