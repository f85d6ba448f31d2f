/// Builds the ONNX graph that computes what an `RNN` computes: one ONNX `RNN`, `LSTM` or `GRU` node per layer
/// with the weights in ONNX's layouts, and the reshaping PyTorch does between layers.
///
/// Graph inputs: `input` (`[T, B, I]`, or `[B, T, I]` batch-first) and three optional inputs — `h0`
/// (`[L·D, B, H]`), `c0` (LSTM, same shape) and `lengths` (int32 `[B]`). "Optional" is ONNX's own mechanism: an
/// initializer with the same name as a graph input is that input's default value, used when the caller does not
/// feed it. The defaults cannot have the dynamic batch size, so `h0`/`c0` default to zeros of batch 1 and are
/// `Expand`ed to the input's batch (a fed `[L·D, B, H]` passes through `Expand` unchanged), and `lengths`
/// defaults to `[-1]`, which `Where` turns into the full sequence length for every batch element.
/// Outputs: `output` (`[T, B, D·H]`, batch-first `[B, T, D·H]`), `h_n` and (LSTM) `c_n` (`[L·D, B, H]`).
struct ONNXGraphBuilder {
    private let rnn: RNN
    private let configuration: RNNConfiguration
    private let precision: Precision
    private var graph: ONNXProto.Graph

    init(rnn: RNN, precision: Precision) {
        self.rnn = rnn
        self.configuration = rnn.configuration
        self.precision = precision
        self.graph = ONNXProto.Graph(name: "rnn", docString: Self.documentation)
    }

    /// The graph's own description of its inputs and outputs (shown by Netron and `onnx.helper.printable_graph`).
    static let documentation = """
        input: [T, B, I] ([B, T, I] when batch_first), as PyTorch's input; the graph is batched only \
        (an unbatched [T, I] input is fed as a batch of one). \
        Optional inputs (defaults used when not fed): h0 [L*D, B, H] and, for an LSTM, c0 [L*D, B, H], zeros by \
        default as in PyTorch; lengths int32 [B], each sequence's length (1...T) as for pack_padded_sequence, the \
        whole sequence by default (a negative length also means the whole sequence). \
        Outputs: output [T, B, D*H] ([B, T, D*H] when batch_first), zero past each length; h_n [L*D, B, H] and, for \
        an LSTM, c_n [L*D, B, H], layer by layer, forward direction before backward.
        """

    private var elementType: ONNXProto.DataType { precision == .float64 ? .double : .float }
    private var stateRows: Int { configuration.numLayers * configuration.directions }
    private var isLSTM: Bool { configuration.mode == .lstm }

    /// ONNX's gate order as indices into PyTorch's: LSTM i,o,f,c from PyTorch's i,f,g,o; GRU z,r,h from r,z,n.
    private var onnxGateOrder: [Int] {
        switch configuration.mode {
        case .rnn: [0]
        case .lstm: [0, 3, 1, 2]
        case .gru: [1, 0, 2]
        }
    }

    /// The complete graph. The RNN must have no projection (checked by the caller). The float initializers refer
    /// to the RNN's tensors (`ONNXWeightData`); nothing of the weights' size is allocated.
    mutating func build() -> ONNXProto.Graph {
        let c = configuration
        let time = ONNXProto.Dimension.parameter("T")
        let batch = ONNXProto.Dimension.parameter("B")
        let stateShape: [ONNXProto.Dimension] = [.value(stateRows), batch, .value(c.hiddenSize)]
        let width = c.directions * c.hiddenSize

        // Inputs, each optional one with its default as an initializer of the same name.
        graph.inputs.append(.init(name: "input", elementType: elementType,
                                  shape: c.batchFirst ? [batch, time, .value(c.inputSize)] : [time, batch, .value(c.inputSize)]))
        var zeroState = ONNXWeightData(precision: precision)
        zeroState.appendZeros(stateRows * c.hiddenSize)
        for name in isLSTM ? ["h0", "c0"] : ["h0"] {
            graph.inputs.append(.init(name: name, elementType: elementType, shape: stateShape))
            addFloats(name, dims: [stateRows, 1, c.hiddenSize], zeroState)
        }
        graph.inputs.append(.init(name: "lengths", elementType: .int32, shape: [batch]))
        addInt32(name: "lengths", [-1])

        // Time-major input, its batch size and length.
        var x = "input"
        if c.batchFirst {
            addNode("Transpose", inputs: [x], outputs: ["input_time_major"], [.init("perm", .ints([1, 0, 2]))])
            x = "input_time_major"
        }
        addNode("Shape", inputs: [x], outputs: ["input_shape"])
        addNode("Gather", inputs: ["input_shape", addInt64(name: "time_axis", [0])], outputs: ["steps"], [.init("axis", .int(0))])
        addNode("Gather", inputs: ["input_shape", addInt64(name: "batch_axis", [1])], outputs: ["batch_size"], [.init("axis", .int(0))])

        // Initial states at the input's batch size.
        addNode("Concat", inputs: [addInt64(name: "state_rows", [Int64(stateRows)]), "batch_size",
                                   addInt64(name: "hidden_size", [Int64(c.hiddenSize)])],
                outputs: ["state_shape"], [.init("axis", .int(0))])
        for name in isLSTM ? ["h0", "c0"] : ["h0"] {
            addNode("Expand", inputs: [name, "state_shape"], outputs: ["\(name)_expanded"])
        }

        // sequence_lens: the lengths given, or T where a length is negative (the default [-1]), one per batch element.
        addNode("Cast", inputs: ["steps"], outputs: ["steps_int32"], [.init("to", .int(ONNXProto.DataType.int32.rawValue))])
        addNode("Less", inputs: ["lengths", addInt32(name: "zero_int32", [0])], outputs: ["length_is_default"])
        addNode("Where", inputs: ["length_is_default", "steps_int32", "lengths"], outputs: ["lengths_or_steps"])
        addNode("Expand", inputs: ["lengths_or_steps", "batch_size"], outputs: ["sequence_lens"])

        let layerOutputShape = addInt64(name: "layer_output_shape", [0, 0, Int64(width)])
        let sliceAxes = c.numLayers > 1 ? addInt64(name: "slice_axes", [0]) : ""
        var finalStates: [String] = []
        var finalCells: [String] = []
        for layer in 0..<c.numLayers {
            let prefix = "l\(layer)_"
            var h0 = "h0_expanded"
            var c0 = "c0_expanded"
            if c.numLayers > 1 {
                // This layer's rows of h0 (and c0): [layer·D, (layer+1)·D) along axis 0.
                let start = addInt64(name: prefix + "state_start", [Int64(layer * c.directions)])
                let end = addInt64(name: prefix + "state_end", [Int64((layer + 1) * c.directions)])
                h0 = prefix + "h0"
                addNode("Slice", inputs: ["h0_expanded", start, end, sliceAxes], outputs: [h0])
                if isLSTM {
                    c0 = prefix + "c0"
                    addNode("Slice", inputs: ["c0_expanded", start, end, sliceAxes], outputs: [c0])
                }
            }
            let (w, r, b) = addWeights(layer: layer)
            let yH = c.numLayers == 1 ? "h_n" : prefix + "Y_h"
            let yC = c.numLayers == 1 ? "c_n" : prefix + "Y_c"
            var attributes: [ONNXProto.Attribute] = [
                .init("hidden_size", .int(Int64(c.hiddenSize))),
                .init("direction", .string(c.bidirectional ? "bidirectional" : c.reverse ? "reverse" : "forward")),
            ]
            switch c.mode {
            case .rnn:
                let activation = c.nonlinearity == .relu ? "Relu" : "Tanh"
                attributes.append(.init("activations", .strings(Array(repeating: activation, count: c.directions))))
            case .gru:
                // PyTorch's GRU applies the reset gate after the recurrent matrix product, bias included (1); the
                // reset-before GRU is ONNX's default (0).
                attributes.append(.init("linear_before_reset", .int(c.resetAfter ? 1 : 0)))
            case .lstm:
                break
            }
            addNode(c.mode.rawValue.uppercased(), name: prefix + c.mode.rawValue,
                    inputs: [x, w, r, b, "sequence_lens", h0] + (isLSTM ? [c0] : []),
                    outputs: [prefix + "Y", yH] + (isLSTM ? [yC] : []), attributes)
            finalStates.append(yH)
            finalCells.append(yC)

            // Y [T, D, B, H] → [T, B, D, H] → [T, B, D·H]: the next layer's input, or the output.
            let last = layer == c.numLayers - 1
            let layerOutput = last ? (c.batchFirst ? "output_time_major" : "output") : prefix + "output"
            addNode("Transpose", inputs: [prefix + "Y"], outputs: [prefix + "Y_batch_major"], [.init("perm", .ints([0, 2, 1, 3]))])
            addNode("Reshape", inputs: [prefix + "Y_batch_major", layerOutputShape], outputs: [layerOutput])
            x = layerOutput
        }
        if c.batchFirst {
            addNode("Transpose", inputs: [x], outputs: ["output"], [.init("perm", .ints([1, 0, 2]))])
        }
        if c.numLayers > 1 {
            addNode("Concat", inputs: finalStates, outputs: ["h_n"], [.init("axis", .int(0))])
            if isLSTM { addNode("Concat", inputs: finalCells, outputs: ["c_n"], [.init("axis", .int(0))]) }
        }

        graph.outputs.append(.init(name: "output", elementType: elementType,
                                   shape: c.batchFirst ? [batch, time, .value(width)] : [time, batch, .value(width)]))
        graph.outputs.append(.init(name: "h_n", elementType: elementType, shape: stateShape))
        if isLSTM { graph.outputs.append(.init(name: "c_n", elementType: elementType, shape: stateShape)) }
        return graph
    }

    /// W `[D, G·H, in]`, R `[D, G·H, H]` and B `[D, 2·G·H]` (input then recurrent bias, zeros without bias) of
    /// `layer`, gates in ONNX's order, forward direction first.
    private mutating func addWeights(layer: Int) -> (String, String, String) {
        let c = configuration
        let gates = c.mode.gateCount * c.hiddenSize
        var w = ONNXWeightData(precision: precision)
        var r = ONNXWeightData(precision: precision)
        var b = ONNXWeightData(precision: precision)
        for direction in 0..<c.directions {
            let suffix = rnn.isCell ? "" : "_l\(layer)" + (direction == 1 ? "_reverse" : "")
            // A loaded RNN has every tensor its configuration names.
            func tensor(_ kind: String) -> Tensor { rnn.tensors[kind + suffix]! }
            appendReordered(tensor("weight_ih"), columns: c.layerInputSize(layer), to: &w)
            appendReordered(tensor("weight_hh"), columns: c.hiddenSize, to: &r)
            if c.bias {
                appendReordered(tensor("bias_ih"), columns: 1, to: &b)
                appendReordered(tensor("bias_hh"), columns: 1, to: &b)
            } else {
                b.appendZeros(2 * gates)
            }
        }
        let prefix = "l\(layer)_"
        addFloats(prefix + "W", dims: [c.directions, gates, c.layerInputSize(layer)], w)
        addFloats(prefix + "R", dims: [c.directions, gates, c.hiddenSize], r)
        addFloats(prefix + "B", dims: [c.directions, 2 * gates], b)
        return (prefix + "W", prefix + "R", prefix + "B")
    }

    /// Appends `tensor` (G·H rows of `columns`, PyTorch's gate order) to `data` with the gate blocks in ONNX's order.
    private func appendReordered(_ tensor: Tensor, columns: Int, to data: inout ONNXWeightData) {
        let block = configuration.hiddenSize * columns
        for gate in onnxGateOrder { data.append(tensor, elements: gate * block..<(gate + 1) * block) }
    }

    private mutating func addNode(_ opType: String, name: String? = nil, inputs: [String], outputs: [String],
                                  _ attributes: [ONNXProto.Attribute] = []) {
        graph.nodes.append(.init(opType: opType, name: name ?? outputs[0], inputs: inputs, outputs: outputs, attributes: attributes))
    }

    /// A float initializer in the export precision, produced when the model is written.
    private mutating func addFloats(_ name: String, dims: [Int], _ data: ONNXWeightData) {
        graph.initializers.append(.init(name: name, dataType: elementType, dims: dims, data: .deferred(data.deferredBytes)))
    }

    @discardableResult
    private mutating func addInt64(name: String, _ values: [Int64]) -> String {
        let raw = values.map(\.littleEndian).withUnsafeBytes { Array($0) }
        graph.initializers.append(.init(name: name, dataType: .int64, dims: [values.count], data: .bytes(raw)))
        return name
    }

    @discardableResult
    private mutating func addInt32(name: String, _ values: [Int32]) -> String {
        let raw = values.map(\.littleEndian).withUnsafeBytes { Array($0) }
        graph.initializers.append(.init(name: name, dataType: .int32, dims: [values.count], data: .bytes(raw)))
        return name
    }
}
