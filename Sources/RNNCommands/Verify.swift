import ArgumentParser
import Foundation
import RNNKit

/// `rnn-verify MODEL INPUTS EXPECTED`: proves a file computes what PyTorch computed.
public struct Verify: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rnn-verify",
        abstract: "Run a PyTorch RNN, LSTM or GRU on inputs and compare with PyTorch's outputs.",
        discussion: """
            Compares `output` and, when present, `h_n` (alias `hn`) and `c_n` (alias `cn`, LSTM) of EXPECTED with this toolkit's result, element
            by element as numpy.allclose: |actual - expected| <= atol + rtol * |expected|; NaN matches only NaN; a
            shape difference is a mismatch. Defaults: float32 models atol 1e-6, rtol 1e-5; float64 models atol
            1e-14, rtol 1e-12 (see the README for why).

            Exit status: 0 verified, 1 mismatch, 2 a file could not be used.

            Examples:
              rnn-verify model.npz inputs.npz expected.npz
              rnn-verify model.h5 inputs.npz expected.npz --atol 1e-5 --rtol 1e-4 --json
            """)

    @Argument(help: "The model file (.npz, .h5/.hdf5).")
    var model: String

    @Argument(help: "The inputs: `input` (alias `x`), optional `h0` (alias `hx`), `c0` (alias `cx`), `lengths`.")
    var inputs: String

    @Argument(help: "PyTorch's outputs: `output`, optional `h_n` (alias `hn`) and `c_n` (alias `cn`).")
    var expected: String

    @Option(help: "Absolute tolerance (default by precision: 1e-6 float32, 1e-14 float64).")
    var atol: Double?

    @Option(help: "Relative tolerance (default by precision: 1e-5 float32, 1e-12 float64).")
    var rtol: Double?

    @Flag(help: "Print the report as one JSON object.")
    var json = false

    @OptionGroup var options: ModelOptions

    public init() {}

    public func validate() throws {
        if let atol, !(atol >= 0) { throw ValidationError("--atol must be a number ≥ 0") }
        if let rtol, !(rtol >= 0) { throw ValidationError("--rtol must be a number ≥ 0") }
    }

    public func run() throws {
        let rnn = try CommandSupport.model(CommandSupport.read(model), from: model, options: options.loadOptions)
        let runInputs = try RunInputs(path: inputs)
        let expectedDict = try CommandSupport.read(expected)
        guard let expectedOutput = expectedDict["output"] else {
            throw CommandFailure("\(expected): no tensor named \"output\"; found: \(expectedDict.names.joined(separator: ", "))")
        }
        let result = try runInputs.forward(rnn)
        let defaults = Tolerance.default(for: rnn.precision)
        let tolerance = Tolerance(atol: atol ?? defaults.atol, rtol: rtol ?? defaults.rtol)
        var checks: [(String, Tensor, Tensor)] = [("output", result.output, expectedOutput)]
        if let hN = expectedDict["h_n"] ?? expectedDict["hn"] { checks.append(("h_n", result.hN, hN)) }
        if let cN = expectedDict["c_n"] ?? expectedDict["cn"] {
            guard let actual = result.cN else {
                throw CommandFailure("\(expected): tensor \"c_n\" is given, but the model is \(rnn.configuration.mode.torchName), which has no cell state")
            }
            checks.append(("c_n", actual, cN))
        }
        var comparisons: [(String, TensorComparison)] = []
        for (name, actual, wanted) in checks {
            do {
                comparisons.append((name, try TensorComparison(actual: actual, expected: wanted, atol: tolerance.atol, rtol: tolerance.rtol)))
            } catch {
                throw CommandFailure("\(expected): tensor \"\(name)\" is \(wanted.dtype), not a floating-point tensor")
            }
        }
        let report = VerificationReport(precision: rnn.precision, tolerance: tolerance, comparisons: comparisons)
        print(json ? report.json : report.text)
        if !report.verified { throw ExitCode(1) }
    }
}

/// What rnn-verify prints: per tensor the shape and errors, then VERIFIED or MISMATCH.
public struct VerificationReport {
    public let precision: Precision
    public let tolerance: Tolerance
    public let comparisons: [(String, TensorComparison)]

    public var verified: Bool { comparisons.allSatisfy { $0.1.matches } }

    public var text: String {
        var lines: [String] = []
        let width = comparisons.map(\.0.count).max() ?? 0
        for (name, c) in comparisons {
            let padded = name + String(repeating: " ", count: width - name.count)
            if c.actualShape != c.expectedShape {
                lines.append("\(padded)  shape \(c.actualShape), expected \(c.expectedShape): MISMATCH")
                continue
            }
            let worst = c.worstIndex.map { "  worst at \(c.coordinates(of: $0))" } ?? ""
            lines.append("\(padded)  shape \(c.actualShape)  max abs error \(format(c.maxAbsoluteError))  max rel error \(format(c.maxRelativeError))  failing \(c.failing) of \(c.count)\(worst)")
        }
        lines.append("\(verified ? "VERIFIED" : "MISMATCH") (\(precision.rawValue), atol \(format(tolerance.atol)), rtol \(format(tolerance.rtol)))")
        return lines.joined(separator: "\n")
    }

    public var json: String {
        var tensors: [String: Any] = [:]
        for (name, c) in comparisons {
            tensors[name] = [
                "shape": c.actualShape, "expected_shape": c.expectedShape, "matches": c.matches,
                "max_abs_error": c.maxAbsoluteError, "max_rel_error": c.maxRelativeError,
                "worst_index": c.worstIndex.map { c.coordinates(of: $0) as Any } ?? NSNull(),
                "failing": c.failing, "count": c.count,
            ] as [String: Any]
        }
        let object: [String: Any] = [
            "verified": verified, "precision": precision.rawValue, "atol": tolerance.atol, "rtol": tolerance.rtol,
            "tensors": tensors,
        ]
        return JSONText.encode(object)
    }

    private func format(_ value: Double) -> String { String(format: "%.3g", value) }
}
