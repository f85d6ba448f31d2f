import ArgumentParser
import Foundation
import RNNKit

/// `rnn-verify MODEL INPUTS EXPECTED`: proves a file computes what PyTorch computed.
public struct Verify: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rnn-verify",
        abstract: "Run a PyTorch RNN, LSTM or GRU on inputs and compare with PyTorch's outputs.",
        discussion: """
            Compares `output` and, when present, `h_n` (alias `hn`) and `c_n` (alias `cn`, LSTM) of EXPECTED with \
            this toolkit's result, element by element as numpy.allclose: |actual - expected| <= atol + rtol * \
            |expected|; NaN matches only NaN; a shape difference is a mismatch. The largest errors are over finite \
            values; NaN and infinity mismatches are counted apart. Expected tensors must be floating-point.

            Defaults: float32 models atol 1e-5, rtol 1.3e-6, torch.testing.assert_close's (PyTorch's own float32 \
            paths differ from each other by a few 1e-6); float64 models atol 1e-14, rtol 1e-12 (see the README).

            On a float32 mismatch the model is computed again in float64, and each tensor's report says how far \
            ours and the expected values are from that: "float32 rounding" when comparably far (within 8 times), \
            else which one is closer. It checks the arithmetic, not the options: with a wrong --nonlinearity, say, \
            ours and float64 agree.

            Exit status: 0 verified, 1 mismatch, 2 a file could not be used, 64 a usage error.

            Examples:
              rnn-verify model.npz inputs.npz expected.npz
              rnn-verify model.h5 inputs.npz expected.npz --atol 1e-4 --rtol 1e-4 --json
            """)

    @Argument(help: "The model file (.npz, .h5/.hdf5, .safetensors, .pt/.pth (torch.save or torch.jit.save), .keras, .weights.h5, .onnx).")
    var model: String

    @Argument(help: "The inputs: `input` (alias `x`), optional `h0` (alias `hx`), `c0` (alias `cx`), `lengths`.")
    var inputs: String

    @Argument(help: "PyTorch's outputs: `output`, optional `h_n` (alias `hn`) and `c_n` (alias `cn`).")
    var expected: String

    // Unconditional: a value such as -1 must reach validate() and its message, not read as an option.
    @Option(parsing: .unconditional,
            help: "Absolute tolerance, ≥ 0 (default by precision: 1e-5 float32, as torch.testing.assert_close; 1e-14 float64).")
    var atol: Double?

    @Option(parsing: .unconditional,
            help: "Relative tolerance, ≥ 0 (default by precision: 1.3e-6 float32, as torch.testing.assert_close; 1e-12 float64).")
    var rtol: Double?

    @Flag(help: "Print the report as one JSON object.")
    var json = false

    @OptionGroup var options: ModelOptions

    public init() {}

    public func validate() throws {
        for (name, value) in [("--atol", atol), ("--rtol", rtol)] {
            if let value, !(value >= 0 && value.isFinite) {
                throw ValidationError("\(name) must be a finite number ≥ 0, not \(String(format: "%g", value))")
            }
        }
    }

    public func run() throws {
        let modelDict = try CommandSupport.read(model)
        let rnn = try CommandSupport.model(modelDict, from: model, options: options.loadOptions)
        let runInputs = try RunInputs(path: inputs)
        let wanted = try ExpectedTensors(path: expected)
        if let cN = wanted.cN, rnn.configuration.mode != .lstm {
            throw CommandFailure("\(expected): tensor \"\(cN.name)\" is given, but the model is \(rnn.configuration.mode.torchName), which has no cell state")
        }
        let result = try runInputs.forward(rnn)
        let defaults = Tolerance.default(for: rnn.precision)
        let tolerance = Tolerance(atol: atol ?? defaults.atol, rtol: rtol ?? defaults.rtol)
        let entries = try wanted.pairs(with: result).map { name, actual, want in
            VerificationReport.Entry(name: name, comparison: try TensorComparison(actual: actual, expected: want, atol: tolerance.atol, rtol: tolerance.rtol))
        }
        var report = VerificationReport(precision: rnn.precision, tolerance: tolerance, entries: entries)
        if rnn.precision == .float32, !report.verified {
            // Tells float32 rounding from a real difference: the same weights and inputs, computed in float64.
            var float64Options = options.loadOptions
            float64Options.precision = .float64
            let reference = try runInputs.forward(CommandSupport.model(modelDict, from: model, options: float64Options))
            let ours = wanted.pairs(with: result), float64 = wanted.pairs(with: reference)
            for index in ours.indices where ours[index].1.shape == ours[index].2.shape {
                report.entries[index].float64Check = try Float64Check(actual: ours[index].1, expected: ours[index].2, float64: float64[index].1)
            }
        }
        print(json ? report.json : report.text)
        if !report.verified { throw ExitCode(1) }
    }
}

/// The `output`, `h_n` and `c_n` tensors of an expected-outputs file, by their names or PyTorch's aliases, checked
/// to be floating-point before anything is computed.
struct ExpectedTensors {
    /// A tensor with the name it has in the file.
    struct Named {
        let name: String
        let tensor: Tensor
    }

    let output: Tensor
    let hN: Named?
    let cN: Named?

    init(path: String) throws {
        let dict = try CommandSupport.read(path)
        guard let output = dict["output"] else {
            throw CommandFailure("\(path): no tensor named \"output\"; found: \(dict.names.joined(separator: ", "))")
        }
        let find = { (names: [String]) in names.lazy.compactMap { name in dict[name].map { Named(name: name, tensor: $0) } }.first }
        let hN = find(["h_n", "hn"]), cN = find(["c_n", "cn"])
        for named in [Named(name: "output", tensor: output), hN, cN].compactMap({ $0 }) where !named.tensor.dtype.isFloatingPoint {
            throw CommandFailure("\(path): tensor \"\(named.name)\" is \(named.tensor.dtype); expected values must be floating-point, as PyTorch's outputs are")
        }
        self.output = output
        self.hN = hN
        self.cN = cN
    }

    /// The report's name, our tensor and the expected one, for each expected tensor; `result.cN` is there when `cN` is.
    func pairs(with result: RNNOutput) -> [(String, Tensor, Tensor)] {
        var pairs = [("output", result.output, output)]
        if let hN { pairs.append(("h_n", result.hN, hN.tensor)) }
        if let cN, let actual = result.cN { pairs.append(("c_n", actual, cN.tensor)) }
        return pairs
    }
}

/// What rnn-verify prints: per tensor the shape and errors (and on a float32 mismatch the float64 check), then
/// VERIFIED or MISMATCH.
public struct VerificationReport {
    /// One compared tensor.
    public struct Entry {
        public var name: String
        public var comparison: TensorComparison
        /// How far ours and the expected values are from float64; only after a float32 mismatch.
        public var float64Check: Float64Check?

        public init(name: String, comparison: TensorComparison, float64Check: Float64Check? = nil) {
            self.name = name
            self.comparison = comparison
            self.float64Check = float64Check
        }
    }

    public let precision: Precision
    public let tolerance: Tolerance
    public var entries: [Entry]

    public init(precision: Precision, tolerance: Tolerance, entries: [Entry]) {
        self.precision = precision
        self.tolerance = tolerance
        self.entries = entries
    }

    public var verified: Bool { entries.allSatisfy { $0.comparison.matches } }

    public var text: String {
        var lines: [String] = []
        let width = entries.map(\.name.count).max() ?? 0
        for entry in entries {
            let c = entry.comparison
            let padded = entry.name + String(repeating: " ", count: width - entry.name.count)
            if c.actualShape != c.expectedShape {
                lines.append("\(padded)  shape \(c.actualShape), expected \(c.expectedShape): MISMATCH")
                continue
            }
            let worst = c.worstIndex.map { "  worst at \(c.coordinates(of: $0))" } ?? ""
            let nonFinite = Self.nonFiniteParts(c)
            let detail = nonFinite.isEmpty ? "" : " (\(nonFinite.joined(separator: ", ")))"
            lines.append("\(padded)  shape \(c.actualShape)  max abs error \(format(c.maxAbsoluteError))  max rel error \(format(c.maxRelativeError))  failing \(c.failing) of \(c.count)\(detail)\(worst)")
            if let check = entry.float64Check {
                lines.append("  float64 check: ours \(format(check.oursFromFloat64)) from float64, expected \(format(check.expectedFromFloat64)) from float64: \(Self.phrase(check.verdict))")
            }
        }
        lines.append("\(verified ? "VERIFIED" : "MISMATCH") (\(precision.rawValue), atol \(format(tolerance.atol)), rtol \(format(tolerance.rtol)))")
        return lines.joined(separator: "\n")
    }

    public var json: String {
        var tensors: [String: Any] = [:]
        for entry in entries {
            let c = entry.comparison
            var fields: [String: Any] = [
                "shape": c.actualShape, "expected_shape": c.expectedShape, "matches": c.matches,
                "max_abs_error": c.maxAbsoluteError, "max_rel_error": c.maxRelativeError,
                "worst_index": c.worstIndex.map { c.coordinates(of: $0) as Any } ?? NSNull(),
                "failing": c.failing, "count": c.count,
                "nan_where_number_expected": c.nanWhereNumberExpected, "number_where_nan_expected": c.numberWhereNaNExpected,
                "infinity_mismatches": c.infinityMismatches,
            ]
            if let check = entry.float64Check {
                // JSON has no infinity: an infinite distance (a NaN or an infinity float64 does not have) is null.
                let number = { (value: Double) -> Any in value.isFinite ? value : NSNull() }
                fields["float64_check"] = [
                    "ours_max_abs_from_float64": number(check.oursFromFloat64),
                    "expected_max_abs_from_float64": number(check.expectedFromFloat64),
                    "rounding_floor": check.roundingFloor, "verdict": check.verdict.rawValue,
                ] as [String: Any]
            }
            tensors[entry.name] = fields
        }
        let object: [String: Any] = [
            "verified": verified, "precision": precision.rawValue, "atol": tolerance.atol, "rtol": tolerance.rtol,
            "tensors": tensors,
        ]
        return JSONText.encode(object)
    }

    /// "1 NaN where a number was expected", "2 infinity mismatches", … for the non-finite failures.
    private static func nonFiniteParts(_ c: TensorComparison) -> [String] {
        var parts: [String] = []
        if c.nanWhereNumberExpected > 0 {
            let n = c.nanWhereNumberExpected
            parts.append(n == 1 ? "1 NaN where a number was expected" : "\(n) NaNs where numbers were expected")
        }
        if c.numberWhereNaNExpected > 0 {
            let n = c.numberWhereNaNExpected
            parts.append(n == 1 ? "1 number where NaN was expected" : "\(n) numbers where NaN was expected")
        }
        if c.infinityMismatches > 0 {
            let n = c.infinityMismatches
            parts.append(n == 1 ? "1 infinity mismatch" : "\(n) infinity mismatches")
        }
        return parts
    }

    private static func phrase(_ verdict: Float64Check.Verdict) -> String {
        switch verdict {
        case .rounding: "float32 rounding"
        case .oursCloser: "ours closer, not float32 rounding"
        case .expectedCloser: "expected closer, not float32 rounding"
        case .neitherClose: "neither close (NaN or infinity on both sides)"
        }
    }

    private func format(_ value: Double) -> String { String(format: "%.3g", value) }
}
