/// One graph of a model with what its values are: initializers, the outputs of its nodes, its inputs, and the
/// graph it is nested in (an `If` branch sees the values of the graphs around it, as ONNX's scoping rules say).
final class ONNXScope {
    let graph: ONNXProto.Graph
    let parent: ONNXScope?
    /// Where the graph is, for names and errors: `[]` for the main graph, `["if_node", "then_branch"]` for a branch.
    let path: [String]
    private var initializers: [String: Int] = [:]
    private var producers: [String: Int] = [:]
    private var inputs: Set<String> = []
    /// How many nodes read each value, by name.
    private(set) var consumers: [String: [Int]] = [:]

    init(graph: ONNXProto.Graph, parent: ONNXScope?, path: [String]) {
        self.graph = graph
        self.parent = parent
        self.path = path
        for (index, tensor) in graph.initializers.enumerated() where initializers[tensor.name] == nil {
            initializers[tensor.name] = index
        }
        for (index, node) in graph.nodes.enumerated() {
            for output in node.outputs where !output.isEmpty && producers[output] == nil { producers[output] = index }
            for input in node.inputs where !input.isEmpty { consumers[input, default: []].append(index) }
        }
        inputs = Set(graph.inputs.map(\.name))
    }

    /// What a value name refers to, looked up in this graph and then the graphs around it.
    enum Definition {
        /// An initializer (a constant, even if a graph input of the same name can override it).
        case initializer(ONNXProto.Tensor, ONNXScope)
        /// The output `output` of node `node` of `scope`'s graph.
        case node(Int, output: Int, ONNXScope)
        /// A graph input without an initializer: known only when the model runs.
        case input(ONNXScope)
    }

    func definition(of name: String) -> Definition? {
        if let index = producers[name] {
            let node = graph.nodes[index]
            return .node(index, output: node.outputs.firstIndex(of: name)!, self)
        }
        if let index = initializers[name] { return .initializer(graph.initializers[index], self) }
        if inputs.contains(name) { return .input(self) }
        return parent?.definition(of: name)
    }

    /// True when `name` is one of the graph's inputs (of this graph or one around it) with no initializer.
    func isGraphInput(_ name: String) -> Bool {
        if case .input = definition(of: name) { return true }
        return false
    }
}
