import ArgumentParser
import RNNKit

extension Nonlinearity: ExpressibleByArgument {}
extension DType: ExpressibleByArgument {}

/// The options every command that loads a model shares.
public struct ModelOptions: ParsableArguments {
    @Option(help: "The RNN module's prefix, e.g. encoder.rnn (needed when the file holds several).")
    var prefix: String?

    @Option(help: "The activation, tanh or relu (overrides the file's metadata; tanh when neither says).")
    var nonlinearity: Nonlinearity?

    @Option(help: ArgumentHelp("GRU: false for a GRU that applies its reset gate before the recurrent product (Keras reset_after=False, ONNX linear_before_reset=0); overrides the file's metadata.", valueName: "true|false"))
    var resetAfter: Bool?

    @Flag(help: "Inputs and outputs are [batch, time, features] (overrides the file's metadata).")
    var batchFirst = false

    @Flag(help: "No progress on stderr.")
    var quiet = false

    public init() {}

    var loadOptions: RNNLoadOptions {
        RNNLoadOptions(prefix: prefix, nonlinearity: nonlinearity, batchFirst: batchFirst ? true : nil, resetAfter: resetAfter)
    }
}
