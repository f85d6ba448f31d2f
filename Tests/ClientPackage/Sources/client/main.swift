import Foundation
import RNNKit

// Streams each model named on the command line one time step at a time, as a real-time app feeds its frames,
// and checks that the steps give exactly the bits of one whole-sequence call.
for path in CommandLine.arguments.dropFirst() {
    // From the file's bytes, as an app holds a model it bundles or downloads (RNN(contentsOf:) reads a path).
    let rnn = try RNN(data: Data(contentsOf: URL(fileURLWithPath: path)), name: path)
    let c = rnn.configuration
    // Its tensors under PyTorch's names and in PyTorch's order (OrderedDictionary comes with RNNKit).
    let tensors: OrderedDictionary<String, Tensor> = rnn.tensors
    precondition(tensors.keys.first == "weight_ih_l0")
    let steps = 9
    let frames = (0..<steps).map { t in (0..<c.inputSize).map { i in Float(sin(Double(t * c.inputSize + i))) } }

    let stream = try rnn.makeStream(batch: 1)
    var streamed: [Float] = []
    for frame in frames {
        streamed += try stream.step(frame)  // this step's output: proj_size or hidden values
    }

    // The whole sequence at once: [T, 1, I] (batch-first [1, T, I], the same values in the same order).
    let shape = c.batchFirst ? [1, steps, c.inputSize] : [steps, 1, c.inputSize]
    let whole = try rnn.forward(Tensor(shape: shape, elements: frames.flatMap { $0 }))
    let same = try streamed == whole.output.floatValues() && stream.state == whole.state
    print(c.mode, same ? "streams the whole-sequence bits" : "differs when streamed")
}
