import Foundation
import RNNKit

// Loads a PyTorch RNN saved as NPZ, runs it, and prints the shapes and the first output value.
let path = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "model.npz"
let rnn = try RNN(contentsOf: URL(fileURLWithPath: path), options: RNNLoadOptions(batchFirst: true))
let input = try Tensor(shape: [8, 7, 3], elements: [Float](repeating: 0.5, count: 8 * 7 * 3))
let result = try rnn.forward(input)
let first: Float = try result.output.floatValues()[0]
print(rnn.configuration, result.output.shape, result.hN.shape, first)
