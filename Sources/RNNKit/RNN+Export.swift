import OrderedCollections

extension RNN {
    /// The metadata our files carry so that they load again with nothing to specify, and so that PyTorch's
    /// `torch.nn.RNN(**config)` can be rebuilt from it: the constructor's argument names, values as strings.
    public var metadata: StateDict.Metadata {
        let c = configuration
        var result: StateDict.Metadata = ["mode": c.mode.rawValue + (isCell ? "_cell" : "")]
        if c.mode == .rnn { result["nonlinearity"] = c.nonlinearity.rawValue }
        // In this order, always: a Dictionary literal would iterate in an order that differs between instances.
        result["input_size"] = "\(c.inputSize)"
        result["hidden_size"] = "\(c.hiddenSize)"
        result["num_layers"] = "\(c.numLayers)"
        result["bias"] = c.bias ? "true" : "false"
        result["bidirectional"] = c.bidirectional ? "true" : "false"
        result["batch_first"] = c.batchFirst ? "true" : "false"
        result["dropout"] = "\(c.dropout)"
        if c.mode == .lstm { result["proj_size"] = "\(c.projSize)" }
        if c.mode == .gru { result["reset_after"] = c.resetAfter ? "true" : "false" }
        if c.reverse { result["reverse"] = "true" }
        result["prefix"] = prefix
        return result
    }

    /// The module as a state_dict with PyTorch's names and order (under the original prefix unless
    /// `keepPrefix` is false), in the stored dtype, with the configuration as metadata.
    ///
    /// Throws `RNNExportError.noPyTorchEquivalent` for a reset-before GRU (`RNNConfiguration.resetAfter` false):
    /// `torch.nn.GRU` would load its tensors and compute something else without a word. Write it as ONNX or Keras.
    /// Throws `RNNExportError.readsBackwards` for a reverse model (`RNNConfiguration.reverse`): write it as ONNX.
    public func stateDict(keepPrefix: Bool = true) throws -> StateDict {
        if configuration.isResetBeforeGRU { throw RNNExportError.noPyTorchEquivalent(prefix: prefix) }
        if configuration.reverse { throw RNNExportError.readsBackwards(prefix: prefix) }
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
