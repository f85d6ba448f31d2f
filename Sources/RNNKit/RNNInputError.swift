/// What is wrong with what a caller gives `RNN.forward` or an `RNNStream`: the tensors, lengths, thread count or
/// batch size. (What is wrong with a model's file or tensors is an `RNNLoadError`.)
///
/// Every case names the argument (`input`, `h0`, `c0`, `lengths`, `threads`, `batch`) and what was expected, so
/// that an app can report it or react to it; `description` is one line.
public enum RNNInputError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `name` has shape `found`; the model takes `expected`, where nil stands for any size (the time and batch
    /// axes of an input).
    case wrongShape(name: String, expected: [Int?], found: [Int])
    /// `name` has dtype `found`; the model takes `expected`.
    case wrongDType(name: String, expected: DType, found: DType)
    /// The input has no time steps or no batch elements.
    case empty(name: String, shape: [Int])
    /// `lengths` holds `found` lengths for a batch of `batch`.
    case lengthCount(found: Int, batch: Int)
    /// Batch element `index` has length `length`, outside 1…`steps`.
    case lengthOutOfRange(index: Int, length: Int, steps: Int)
    /// `lengths` were given with an unbatched input.
    case lengthsNeedBatch
    /// A cell state (`c0`) was given to a model that has none: only an LSTM has one.
    case noCellState
    /// A thread count below 1.
    case threadCount(Int)
    /// A stream's batch size below 1.
    case batchSize(Int)
    /// A bidirectional or reverse model cannot stream: it reads from the end of the sequence.
    case bidirectionalStream

    public var description: String {
        func shape(_ dims: [Int?]) -> String { "[" + dims.map { $0.map(String.init) ?? "*" }.joined(separator: ", ") + "]" }
        return switch self {
        case .wrongShape(let name, let expected, let found):
            "\(name): shape \(shape(found)); expected \(shape(expected))"
        case .wrongDType(let name, let expected, let found) where expected == .float32 && found == .float64:
            "\(name): float64, but the model computes in float32 (convert the input, or load with float64 precision)"
        case .wrongDType(let name, let expected, let found):
            "\(name): dtype \(found); expected \(expected)"
        case .empty(let name, let found):
            "\(name): shape \(shape(found)) has no time steps or no batch elements"
        case .lengthCount(let found, let batch):
            "lengths: \(found) lengths for a batch of \(batch)"
        case .lengthOutOfRange(let index, let length, let steps):
            "lengths: length \(length) of batch element \(index) is outside 1…\(steps)"
        case .lengthsNeedBatch:
            "lengths: lengths need a batched input"
        case .noCellState:
            "c0: only an LSTM has a cell state"
        case .threadCount(let count):
            "threads: \(count); a thread count is at least 1"
        case .batchSize(let count):
            "batch: \(count); a stream's batch size is at least 1"
        case .bidirectionalStream:
            "a bidirectional or reverse model cannot stream (it reads from the end of the sequence): run whole sequences with forward"
        }
    }
}
