/// An ONNX `RNN`, `LSTM` or `GRU` node read as PyTorch would configure it: its attributes checked against
/// what the model computes, and its `W`, `R` and `B` evaluated (`ONNXConstantFolder`).
///
/// - `direction`: forward, bidirectional, or reverse (one direction reading the sequence from its end; outputs
///   stay at their time steps, as in ONNX Runtime).
/// - `activations`: RNN Tanh or Relu (the same for both directions); LSTM Sigmoid, Tanh, Tanh and GRU Sigmoid,
///   Tanh (ONNX's defaults); anything else is refused by name.
/// - `clip`, `input_forget` and the peephole weights `P` are refused unless absent or zero, and so is a constant
///   `initial_h`/`initial_c` (a learned initial state, which PyTorch's modules take as inputs).
/// - `layout` 1 is batch-first; GRU `linear_before_reset` 1 is PyTorch's GRU, 0 the reset-before one.
struct ONNXRecurrentNode {
    enum Mode: String {
        case rnn, lstm, gru

        var gates: Int { self == .rnn ? 1 : self == .lstm ? 4 : 3 }
        /// The ONNX gate block each of PyTorch's blocks is: LSTM i,f,g,o ← i,o,f,c; GRU r,z,n ← z,r,h.
        var onnxBlockOfTorchBlock: [Int] {
            switch self {
            case .rnn: [0]
            case .lstm: [0, 2, 3, 1]
            case .gru: [1, 0, 2]
            }
        }
    }

    let scope: ONNXScope
    let index: Int
    let node: ONNXProto.Node
    let mode: Mode
    let directions: Int
    let reverse: Bool
    let hidden: Int
    let inputSize: Int
    /// RNN only: "tanh" or "relu".
    let nonlinearity: String
    /// GRU only: `linear_before_reset` (PyTorch's GRU when true).
    let resetAfter: Bool
    /// `layout` 1: every input and output batch-first.
    let layoutBatchFirst: Bool
    let w: Tensor, r: Tensor
    let b: Tensor?

    /// The node's name for errors and listings: its own, or its operator and position.
    var displayName: String { Self.displayName(node, index: index) }

    static func displayName(_ node: ONNXProto.Node, index: Int) -> String {
        node.name.isEmpty ? "\(node.opType) node \(index)" : node.name
    }

    static func isRecurrent(_ node: ONNXProto.Node) -> Bool {
        ["RNN", "LSTM", "GRU"].contains(node.opType) && (node.domain.isEmpty || node.domain == "ai.onnx")
    }

    init(_ node: ONNXProto.Node, index: Int, scope: ONNXScope, folder: inout ONNXConstantFolder) throws {
        let path = folder.data.file.path
        let name = Self.displayName(node, index: index)
        func refuse(_ detail: String) -> TensorFileError {
            TensorFileError(path: path, tensor: name, problem: .unsupportedFeature(detail))
        }
        func malformed(_ detail: String) -> TensorFileError {
            TensorFileError(path: path, tensor: name, problem: .malformed(detail))
        }
        self.node = node
        self.index = index
        self.scope = scope
        mode = Mode(rawValue: node.opType.lowercased())!

        switch node.attribute("direction") {
        case nil, .string("forward"): (directions, reverse) = (1, false)
        case .string("reverse"): (directions, reverse) = (1, true)
        case .string("bidirectional"): (directions, reverse) = (2, false)
        case .string(let other): throw malformed("direction \"\(other)\" (forward, reverse or bidirectional)")
        default: throw malformed("its direction attribute is not a string")
        }

        // W, R, B (and the peephole P) from constants.
        func constant(_ position: Int, _ role: String) throws -> Tensor? {
            guard position < node.inputs.count, !node.inputs[position].isEmpty else { return nil }
            do {
                let tensor = try folder.value(node.inputs[position], in: scope)
                guard tensor.dtype.isFloatingPoint else {
                    throw TensorFileError(path: path, tensor: name, problem: .unsupportedDType("\(role) is \(tensor.dtype), not floating-point"))
                }
                return tensor
            } catch let error as ONNXConstantFolder.NotConstant {
                throw refuse("its \(role) is not a constant: \(error.reason)")
            }
        }
        guard let w = try constant(1, "W"), let r = try constant(2, "R") else { throw malformed("it lacks its W or R input") }
        let b = try constant(3, "B")
        let gates = mode.gates
        guard r.shape.count == 3, r.shape[0] == directions, r.shape[2] > 0, r.shape[1] == gates * r.shape[2] else {
            throw malformed("R is \(r.shape), not [\(directions), \(gates)·hidden_size, hidden_size]")
        }
        hidden = r.shape[2]
        if case .int(let declared)? = node.attribute("hidden_size"), declared != hidden {
            throw malformed("hidden_size is \(declared) but R is \(r.shape)")
        }
        guard w.shape.count == 3, w.shape[0] == directions, w.shape[1] == gates * hidden, w.shape[2] > 0 else {
            throw malformed("W is \(w.shape), not [\(directions), \(gates * hidden), input_size]")
        }
        inputSize = w.shape[2]
        if let b, b.shape != [directions, 2 * gates * hidden] {
            throw malformed("B is \(b.shape), not [\(directions), \(2 * gates * hidden)]")
        }
        self.w = w
        self.r = r
        self.b = b

        // Activations: the ones PyTorch has.
        var activations: [String]?
        switch node.attribute("activations") {
        case nil: activations = nil
        case .strings(let names): activations = names
        default: throw malformed("its activations attribute is not a list of strings")
        }
        let expected: [String] = mode == .lstm ? ["Sigmoid", "Tanh", "Tanh"] : mode == .gru ? ["Sigmoid", "Tanh"] : []
        switch mode {
        case .rnn:
            let names = activations ?? Array(repeating: "Tanh", count: directions)
            guard names.count == directions, let first = names.first, names.allSatisfy({ $0.lowercased() == first.lowercased() }),
                  ["tanh", "relu"].contains(first.lowercased()) else {
                throw refuse("activations \(names) (PyTorch's RNN has tanh or relu, the same in both directions)")
            }
            nonlinearity = first.lowercased()
        case .lstm, .gru:
            if let activations {
                let defaults = Array(Array(repeating: expected, count: directions).joined())
                guard activations.map({ $0.lowercased() }) == defaults.map({ $0.lowercased() }) else {
                    throw refuse("activations \(activations) (PyTorch's \(node.opType) uses \(expected.joined(separator: ", ")))")
                }
            }
            nonlinearity = "tanh"
        }
        if case .float(let clip)? = node.attribute("clip"), clip != 0 {
            throw refuse("clip \(clip) (cell clipping has no PyTorch equivalent)")
        }
        if case .int(let inputForget)? = node.attribute("input_forget"), inputForget != 0 {
            throw refuse("input_forget \(inputForget) (coupled input and forget gates have no PyTorch equivalent)")
        }
        if mode == .lstm, let peephole = try constant(7, "P") {
            guard try peephole.doubleValues().allSatisfy({ $0 == 0 }) else {
                throw refuse("peephole weights P that are not zero (PyTorch's LSTM has none)")
            }
        }
        // A constant initial state is a learned one (a zero one is the default): PyTorch's modules take h0 and c0
        // as inputs, so a non-zero one would be lost. A computed one (torch's Expand of a zero) is a runtime value.
        for (position, role) in [(5, "initial_h"), (6, "initial_c")] where position == 5 || mode == .lstm {
            guard position < node.inputs.count, !node.inputs[position].isEmpty else { continue }
            let state: Tensor
            do {
                state = try folder.value(node.inputs[position], in: scope)
            } catch is ONNXConstantFolder.NotConstant {
                continue
            }
            guard state.dtype.isFloatingPoint, try state.doubleValues().allSatisfy({ $0 == 0 }) else {
                throw refuse("its \(role) is a constant that is not zero: a learned initial state, which a PyTorch module cannot hold (it takes \(position == 5 ? "h0" : "c0") as an input)")
            }
        }
        switch node.attribute("layout") {
        case nil, .int(0): layoutBatchFirst = false
        case .int(1): layoutBatchFirst = true
        default: throw malformed("layout is not 0 or 1")
        }
        switch node.attribute("linear_before_reset") {
        case nil, .int(0): resetAfter = false
        case .int(let value) where value != 0: resetAfter = true
        default: throw malformed("linear_before_reset is not an integer")
        }
    }

    /// PyTorch's tensors of direction `direction`: `weight_ih`, `weight_hh` and, with a bias, `bias_ih` and
    /// `bias_hh`, gate blocks in PyTorch's order (elements moved, never computed).
    func torchTensors(direction: Int) throws -> [(kind: String, tensor: Tensor)] {
        let gates = mode.gates
        func rows(_ source: Tensor, columns: Int, offset: Int = 0, vector: Bool = false) throws -> Tensor {
            // Direction `direction`'s [G·H, columns] block at `offset` rows into it, PyTorch's gate order.
            var result = try Tensor(zeros: source.dtype, shape: vector ? [gates * hidden] : [gates * hidden, columns])
            let size = source.dtype.byteSize, block = hidden * columns * size
            let start = direction * source.shape[1...].reduce(1, *) * size + offset * columns * size
            source.withUnsafeBytes { from in
                result.withUnsafeMutableBytes { to in
                    for (torch, onnx) in mode.onnxBlockOfTorchBlock.enumerated() {
                        (to.baseAddress! + torch * block).copyMemory(from: from.baseAddress! + start + onnx * block, byteCount: block)
                    }
                }
            }
            return result
        }
        var result = [
            ("weight_ih", try rows(w, columns: inputSize)),
            ("weight_hh", try rows(r, columns: hidden)),
        ]
        if let b {
            result.append(("bias_ih", try rows(b, columns: 1, vector: true)))
            result.append(("bias_hh", try rows(b, columns: 1, offset: gates * hidden, vector: true)))
        }
        return result
    }

    /// True when `next` can be the layer after this one in one PyTorch module: the same operator and settings,
    /// reading this node's output as its input (checked by the caller).
    func stacks(with next: ONNXRecurrentNode) -> Bool {
        next.mode == mode && next.directions == directions && next.reverse == reverse && next.hidden == hidden
            && next.nonlinearity == nonlinearity && next.resetAfter == resetAfter && next.layoutBatchFirst == layoutBatchFirst
            && next.inputSize == directions * hidden && (next.b == nil) == (b == nil)
            && next.w.dtype == w.dtype && next.r.dtype == r.dtype && next.b?.dtype == b?.dtype
    }
}
