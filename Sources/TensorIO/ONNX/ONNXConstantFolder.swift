/// Evaluates the constant inputs of a recurrent node without running the graph: an initializer, a `Constant`
/// node's value, or a short chain of data-movement operators over those — `Identity`, `Cast`, `Reshape`,
/// `Squeeze`, `Unsqueeze`, `Transpose`, `Slice`, `Concat`, `Gather` — as exporters write them (the legacy torch
/// exporter reorders gates with Slice and Concat when it does not fold them). Any other operator, or a graph
/// input, makes the value not constant, and the error names the operator.
///
/// Bounded against hostile files: a chain is at most `maximumDepth` operators deep, each result's size is
/// computed before anything is allocated, and the results together may hold at most `budget` bytes (four
/// times the model's bytes plus 64 MiB: only `Concat` and `Gather` can make more than they are given).
struct ONNXConstantFolder {
    static let maximumDepth = 64

    let data: ONNXTensorData
    var budget: Int
    private var cache: [String: Tensor] = [:]

    init(data: ONNXTensorData, modelBytes: Int) {
        self.data = data
        budget = modelBytes.multipliedReportingOverflow(by: 4).partialValue + (64 << 20)
    }

    /// Why a value is not a constant this folder evaluates.
    struct NotConstant: Error {
        let reason: String
    }

    /// The value `name` as seen from `scope`; throws `NotConstant` (what it depends on) or `TensorFileError`.
    mutating func value(_ name: String, in scope: ONNXScope, depth: Int = 0) throws -> Tensor {
        let key = scope.path.joined(separator: "/") + "|" + name
        if let cached = cache[key] { return cached }
        guard depth < Self.maximumDepth else {
            throw fail(name, .tooLarge("its constant chain is more than \(Self.maximumDepth) operators deep"))
        }
        let result: Tensor
        switch scope.definition(of: name) {
        case nil:
            throw fail(name, .malformed("no initializer, graph input or node output has this name"))
        case .input:
            throw NotConstant(reason: "\"\(name)\" is a graph input, known only when the model runs")
        case .initializer(let proto, _):
            result = try data.tensor(proto, role: name)
        case .node(let index, let output, let owner):
            let node = owner.graph.nodes[index]
            guard node.domain.isEmpty || node.domain == "ai.onnx" else {
                throw NotConstant(reason: "\"\(name)\" comes from a \(node.domain) \(node.opType) node")
            }
            result = try evaluate(node, output: output, in: owner, depth: depth)
        }
        try charge(result, name: name)
        cache[key] = result
        return result
    }

    private mutating func charge(_ tensor: Tensor, name: String) throws {
        guard tensor.byteCount <= budget else {
            throw fail(name, .tooLarge("its constants would take more than the \(budget) bytes allowed for evaluating them"))
        }
        budget -= tensor.byteCount
    }

    /// Refuses a result of `shape` × `dtype` before allocating it, if it is past the budget.
    private func plan(_ shape: [Int], _ dtype: DType, name: String) throws {
        guard let bytes = Tensor.byteCount(of: shape, dtype: dtype) else { throw fail(name, .invalidShape(shape)) }
        guard bytes <= budget else {
            throw fail(name, .tooLarge("a constant of \(shape) × \(dtype) is more than the \(budget) bytes left for evaluating constants"))
        }
    }

    private func fail(_ name: String, _ problem: TensorFileError.Problem) -> TensorFileError {
        TensorFileError(path: data.file.path, tensor: name, problem: problem)
    }

    private mutating func evaluate(_ node: ONNXProto.Node, output: Int, in scope: ONNXScope, depth: Int) throws -> Tensor {
        let name = node.outputs[output]
        func input(_ index: Int) throws -> Tensor? {
            guard index < node.inputs.count, !node.inputs[index].isEmpty else { return nil }
            return try value(node.inputs[index], in: scope, depth: depth + 1)
        }
        func required(_ index: Int) throws -> Tensor {
            guard let tensor = try input(index) else { throw fail(name, .malformed("its \(node.opType) node lacks input \(index)")) }
            return tensor
        }
        func integers(_ tensor: Tensor, _ what: String) throws -> [Int] {
            guard tensor.dtype == .int64 || tensor.dtype == .int32, let values = tensor.integerValues() else {
                throw fail(name, .malformed("\(node.opType)'s \(what) are \(tensor.dtype), not int64"))
            }
            return values
        }
        func ints(_ attribute: String) -> [Int]? {
            switch node.attribute(attribute) {
            case .ints(let values): values.map { Int(clamping: $0) }
            case .int(let value): [Int(clamping: value)]
            default: nil
            }
        }
        func int(_ attribute: String) -> Int? {
            if case .int(let value) = node.attribute(attribute) { return Int(clamping: value) }
            return nil
        }
        func axis(_ value: Int, rank: Int) throws -> Int {
            let axis = value < 0 ? value + rank : value
            guard axis >= 0, axis < max(rank, 1) else { throw fail(name, .malformed("\(node.opType) axis \(value) is outside rank \(rank)")) }
            return axis
        }
        guard output == 0 else { throw NotConstant(reason: "\"\(name)\" is output \(output) of a \(node.opType) node") }

        switch node.opType {
        case "Constant":
            return try constant(node, name: name)
        case "Identity":
            return try required(0)
        case "Cast":
            let source = try required(0)
            guard let code = int("to"), let target = ONNXProto.DataType(rawValue: Int64(code)).dtype else {
                throw fail(name, .unsupportedDType("Cast to ONNX \(ONNXProto.DataType(rawValue: Int64(int("to") ?? 0)).name)"))
            }
            try plan(source.shape, target, name: name)
            return try cast(source, to: target, name: name)
        case "Reshape":
            let source = try required(0)
            let requested = try integers(try required(1), "shape")
            let allowZero = int("allowzero") == 1
            var shape = requested
            for (index, dim) in requested.enumerated() where dim == 0 && !allowZero {
                guard index < source.shape.count else { throw fail(name, .malformed("Reshape copies dimension \(index) of a rank-\(source.shape.count) tensor")) }
                shape[index] = source.shape[index]
            }
            let unknown = shape.indices.filter { shape[$0] == -1 }
            guard unknown.count <= 1, shape.allSatisfy({ $0 >= -1 }) else { throw fail(name, .malformed("Reshape to \(requested)")) }
            if let index = unknown.first {
                let known = shape.enumerated().filter { $0.offset != index }.map(\.element).reduce(1) { $0.multipliedReportingOverflow(by: $1).partialValue }
                guard known > 0, source.elementCount % known == 0 else { throw fail(name, .malformed("Reshape of \(source.shape) to \(requested)")) }
                shape[index] = source.elementCount / known
            }
            guard Tensor.elementCount(of: shape) == source.elementCount else {
                throw fail(name, .malformed("Reshape of \(source.shape) to \(requested)"))
            }
            return try source.reshaped(shape)
        case "Squeeze", "Unsqueeze":
            let source = try required(0)
            let axes = try input(1).map { try integers($0, "axes") } ?? ints("axes")
            var shape = source.shape
            if node.opType == "Squeeze" {
                if let axes {
                    let resolved = Set(try axes.map { try axis($0, rank: shape.count) })
                    guard resolved.allSatisfy({ shape[$0] == 1 }) else { throw fail(name, .malformed("Squeeze of axes \(axes) of \(shape)")) }
                    shape = shape.enumerated().filter { !resolved.contains($0.offset) }.map(\.element)
                } else {
                    shape.removeAll { $0 == 1 }
                }
            } else {
                guard let axes else { throw fail(name, .malformed("Unsqueeze without axes")) }
                let rank = shape.count + axes.count
                let resolved = try axes.map { try axis($0, rank: rank) }.sorted()
                guard Set(resolved).count == resolved.count else { throw fail(name, .malformed("Unsqueeze repeats an axis in \(axes)")) }
                for index in resolved { shape.insert(1, at: index) }
            }
            return try source.reshaped(shape)
        case "Transpose":
            let source = try required(0)
            let rank = source.shape.count
            let perm = ints("perm") ?? Array((0..<rank).reversed())
            guard perm.sorted() == Array(0..<rank) else { throw fail(name, .malformed("Transpose perm \(perm) for rank \(rank)")) }
            let strides = Self.strides(source.shape)
            return try affine(source, shape: perm.map { source.shape[$0] }, base: 0, strides: perm.map { strides[$0] }, name: name)
        case "Slice":
            let source = try required(0)
            let rank = source.shape.count
            let starts: [Int], ends: [Int], axes: [Int], steps: [Int]
            if node.inputs.count > 1 {
                starts = try integers(try required(1), "starts")
                ends = try integers(try required(2), "ends")
                axes = try input(3).map { try integers($0, "axes") } ?? Array(0..<starts.count)
                steps = try input(4).map { try integers($0, "steps") } ?? Array(repeating: 1, count: starts.count)
            } else {  // opset 1–9: attributes
                starts = ints("starts") ?? []
                ends = ints("ends") ?? []
                axes = ints("axes") ?? Array(0..<starts.count)
                steps = Array(repeating: 1, count: starts.count)
            }
            guard starts.count == ends.count, axes.count == starts.count, steps.count == starts.count else {
                throw fail(name, .malformed("Slice with \(starts.count) starts, \(ends.count) ends, \(axes.count) axes and \(steps.count) steps"))
            }
            var shape = source.shape, base = 0, strides = Self.strides(source.shape)
            let sourceStrides = strides
            var done = Set<Int>()
            for index in starts.indices {
                let dimension = try axis(axes[index], rank: rank)
                guard done.insert(dimension).inserted else { throw fail(name, .malformed("Slice repeats axis \(axes[index])")) }
                let size = source.shape[dimension], step = steps[index]
                guard step != 0 else { throw fail(name, .malformed("Slice step 0")) }
                func clamp(_ value: Int, low: Int, high: Int) -> Int {
                    let resolved = value < 0 ? value.addingReportingOverflow(size).partialValue : value
                    return min(max(resolved, low), high)
                }
                let start = step > 0 ? clamp(starts[index], low: 0, high: size) : clamp(starts[index], low: 0, high: size - 1)
                let end = step > 0 ? clamp(ends[index], low: 0, high: size) : clamp(ends[index], low: -1, high: size - 1)
                let count = step > 0 ? max(0, (end - start + step - 1) / step) : max(0, (start - end - step - 1) / -step)
                shape[dimension] = count
                if count > 0 { base += start * sourceStrides[dimension] }
                strides[dimension] = sourceStrides[dimension] * step
            }
            return try affine(source, shape: shape, base: base, strides: strides, name: name)
        case "Concat":
            let parts = try node.inputs.indices.compactMap { try input($0) }
            guard let first = parts.first else { throw fail(name, .malformed("Concat of nothing")) }
            guard let given = int("axis") else { throw fail(name, .malformed("Concat without an axis")) }
            let dimension = try axis(given, rank: first.shape.count)
            var shape = first.shape
            shape[dimension] = 0
            for part in parts {
                guard part.dtype == first.dtype, part.shape.count == first.shape.count,
                      part.shape.indices.allSatisfy({ $0 == dimension || part.shape[$0] == first.shape[$0] }) else {
                    throw fail(name, .malformed("Concat of \(parts.map(\.shape)) \(parts.map(\.dtype)) along axis \(given)"))
                }
                shape[dimension] += part.shape[dimension]
            }
            try plan(shape, first.dtype, name: name)
            var result = try Tensor(zeros: first.dtype, shape: shape)
            let outer = shape[..<dimension].reduce(1, *), size = first.dtype.byteSize
            result.withUnsafeMutableBytes { target in
                var offset = 0
                for row in 0..<outer {
                    for part in parts {
                        let block = part.shape[dimension...].reduce(1, *) * size
                        part.withUnsafeBytes { source in
                            (target.baseAddress! + offset).copyMemory(from: source.baseAddress! + row * block, byteCount: block)
                        }
                        offset += block
                    }
                }
            }
            return result
        case "Gather":
            let source = try required(0), indexTensor = try required(1)
            let indices = try integers(indexTensor, "indices")
            let indexShape = indexTensor.shape
            let dimension = try axis(int("axis") ?? 0, rank: source.shape.count)
            let size = source.shape[dimension]
            let resolved = try indices.map { index in
                guard index >= -size, index < size else { throw fail(name, .malformed("Gather index \(index) is outside 0..<\(size)")) }
                return index < 0 ? index + size : index
            }
            let shape = Array(source.shape[..<dimension]) + indexShape + Array(source.shape[(dimension + 1)...])
            try plan(shape, source.dtype, name: name)
            var result = try Tensor(zeros: source.dtype, shape: shape)
            let outer = source.shape[..<dimension].reduce(1, *)
            let block = source.shape[(dimension + 1)...].reduce(1, *) * source.dtype.byteSize
            source.withUnsafeBytes { from in
                result.withUnsafeMutableBytes { target in
                    var offset = 0
                    for row in 0..<outer {
                        for index in resolved {
                            (target.baseAddress! + offset).copyMemory(from: from.baseAddress! + (row * size + index) * block, byteCount: block)
                            offset += block
                        }
                    }
                }
            }
            return result
        default:
            throw NotConstant(reason: "\"\(name)\" is computed by a \(node.opType) node, which is not evaluated (only constants and Identity, Cast, Reshape, Squeeze, Unsqueeze, Transpose, Slice, Concat and Gather over them)")
        }
    }

    /// A `Constant` node's value: `value` (a tensor), or `value_float(s)`/`value_int(s)`.
    private func constant(_ node: ONNXProto.Node, name: String) throws -> Tensor {
        for attribute in node.attributes {
            switch (attribute.name, attribute.value) {
            case ("value", .tensor(let proto)): return try data.tensor(proto, role: name)
            case ("value_float", .float(let value)): return try Tensor(shape: [], elements: [value])
            case ("value_floats", .floats(let values)): return try Tensor(shape: [values.count], elements: values)
            case ("value_int", .int(let value)): return try Tensor(shape: [], elements: [value])
            case ("value_ints", .ints(let values)): return try Tensor(shape: [values.count], elements: values)
            default: continue
            }
        }
        throw fail(name, .unsupportedFeature("its Constant node holds no dense tensor, float or int value (sparse and string constants are not read)"))
    }

    static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        for index in shape.indices.reversed().dropFirst() { strides[index] = strides[index + 1] * shape[index + 1] }
        return strides
    }

    /// The tensor of `shape` whose element at index `i` is `source`'s element `base + Σ i[k]·strides[k]`.
    private func affine(_ source: Tensor, shape: [Int], base: Int, strides: [Int], name: String) throws -> Tensor {
        try plan(shape, source.dtype, name: name)
        return Layout.strided(source, shape: shape, base: base, strides: strides)
    }

    /// `Cast`: between floating-point types as `Tensor.converted(to:)` rounds, between integer types when every
    /// value fits, and from integers or bools to floating point.
    private func cast(_ source: Tensor, to target: DType, name: String) throws -> Tensor {
        if source.dtype == target { return source }
        if source.dtype.isFloatingPoint && target.isFloatingPoint { return try source.converted(to: target) }
        if target.isFloatingPoint, source.dtype.widensExactlyToDouble {
            return try Tensor(shape: source.shape, elements: try source.doubleValues()).converted(to: target)
        }
        if !source.dtype.isFloatingPoint, !target.isFloatingPoint, target != .bool {
            let values: [Int64] = source.dtype == .int64 ? try source.elements(as: Int64.self)
                : source.dtype == .uint64 ? try source.elements(as: UInt64.self).map { Int64(clamping: $0) }
                : try source.doubleValues().map { Int64($0) }
            func make<T: FixedWidthInteger & TensorElement>(_: T.Type) throws -> Tensor {
                try Tensor(shape: source.shape, elements: try values.map { value in
                    guard let element = T(exactly: value) else { throw fail(name, .malformed("Cast of \(value) to \(target) does not fit")) }
                    return element
                })
            }
            switch target {
            case .int8: return try make(Int8.self)
            case .int16: return try make(Int16.self)
            case .int32: return try make(Int32.self)
            case .int64: return try make(Int64.self)
            case .uint8: return try make(UInt8.self)
            case .uint16: return try make(UInt16.self)
            case .uint32: return try make(UInt32.self)
            case .uint64: return try make(UInt64.self)
            default: break
            }
        }
        throw NotConstant(reason: "\"\(name)\" casts \(source.dtype) to \(target), which is not evaluated")
    }
}
