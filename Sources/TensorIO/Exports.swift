// StateDict keeps its tensors and metadata in an OrderedDictionary (a state_dict's order is part of what PyTorch
// saves), so the type appears in the public API: re-exported here, a user who imports TensorIO or RNNKit can
// name and build one without importing swift-collections.
@_exported import struct OrderedCollections.OrderedDictionary
