// RNNKit builds on TensorIO: a user who imports RNNKit gets Tensor, StateDict and TensorFile too.
@_exported import TensorIO
