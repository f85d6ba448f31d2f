import OrderedCollections

extension RNN {
    /// The metadata our files carry so that they load again with nothing to specify, and so that PyTorch's
    /// `torch.nn.RNN(**config)` can be rebuilt from it: the constructor's argument names, values as strings.
    public var metadata: StateDict.Metadata {
        let c = configuration
        var result: StateDict.Metadata = ["mode": c.mode.rawValue + (isCell ? "_cell" : "")]
        if c.mode == .rnn { result["nonlinearity"] = c.nonlinearity.rawValue }
        result.merge([
            "input_size": "\(c.inputSize)",
            "hidden_size": "\(c.hiddenSize)",
            "num_layers": "\(c.numLayers)",
            "bias": c.bias ? "true" : "false",
            "bidirectional": c.bidirectional ? "true" : "false",
            "batch_first": c.batchFirst ? "true" : "false",
            "dropout": "\(c.dropout)",
        ]) { $1 }
        if c.mode == .lstm { result["proj_size"] = "\(c.projSize)" }
        result["prefix"] = prefix
        return result
    }

    /// The module as a state_dict with PyTorch's names and order (under the original prefix unless
    /// `keepPrefix` is false), in the stored dtype, with the configuration as metadata.
    public func stateDict(keepPrefix: Bool = true) -> StateDict {
        var tensors = OrderedDictionary<String, Tensor>()
        let usedPrefix = keepPrefix ? prefix : ""
        for (name, tensor) in self.tensors {
            tensors[usedPrefix.isEmpty ? name : "\(usedPrefix).\(name)"] = tensor
        }
        var metadata = self.metadata
        metadata["prefix"] = usedPrefix
        return StateDict(tensors: tensors, metadata: metadata)
    }
}
