import Foundation
import Testing
import TestSupport
import TensorIO

/// `rnn-verify` end to end on a small torch fixture (7 steps, hidden 5): the default tolerances, the float64 check
/// after a float32 mismatch, NaN and infinity reported honestly, integer expected tensors and negative tolerances
/// refused. Altered expected and input files are written with our own writer into a temporary folder.
struct VerifyCommandTests {
    static let folder = "torch/l1_uni_tanh_h0_f32/"
    static let model = Repository.fixture(folder + "model.npz").path
    static let inputs = Repository.fixture(folder + "inputs.npz").path
    static let expected = Repository.fixture(folder + "expected.npz").path

    /// The fixture's expected tensors with `change` applied to output's values, written to `expected.npz` in `temporary`.
    func expectedFile(in temporary: TemporaryFolder, _ change: (inout [Float]) -> Void) throws -> String {
        var dict = try TensorFile.read(contentsOf: URL(fileURLWithPath: Self.expected))
        let output = try #require(dict["output"])
        var values = try output.floatValues()
        change(&values)
        dict["output"] = try Tensor(shape: output.shape, elements: values)
        let url = temporary.file("expected.npz")
        try TensorFile.write(dict, to: url)
        return url.path
    }

    /// The JSON object of a `--json` report.
    func object(_ result: CommandResult) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
    }

    func tensor(_ object: [String: Any], _ name: String) throws -> [String: Any] {
        try #require((object["tensors"] as? [String: Any])?[name] as? [String: Any])
    }

    @Test func defaultTolerancesArePrinted() throws {
        let float32 = try run("rnn-verify", [Self.model, Self.inputs, Self.expected])
        #expect(float32.status == 0, "\(float32.error)")
        #expect(float32.output.hasSuffix("\nVERIFIED (float32, atol 1e-05, rtol 1.3e-06)\n"), "\(float32.output)")
        #expect(!float32.output.contains("float64 check"))
        let f64 = "torch/gru_l2_bi_f64/"
        let float64 = try run("rnn-verify", [f64 + "model.npz", f64 + "inputs.npz", f64 + "expected.npz"].map { Repository.fixture($0).path })
        #expect(float64.status == 0, "\(float64.error)")
        #expect(float64.output.hasSuffix("\nVERIFIED (float64, atol 1e-14, rtol 1e-12)\n"), "\(float64.output)")
        let json = try object(try run("rnn-verify", [Self.model, Self.inputs, Self.expected, "--json"]))
        #expect(json["atol"] as? Double == 1e-5 && json["rtol"] as? Double == 1.3e-6)
    }

    @Test func helpNamesTheDefaultsAndTheirSource() throws {
        let help = try run("rnn-verify", ["--help"])
        #expect(help.status == 0)
        for text in ["atol 1e-5, rtol 1.3e-6", "torch.testing.assert_close", "1e-14", "float64"] {
            #expect(help.output.contains(text), "\(text)")
        }
    }

    @Test func perturbedExpectedValueIsJudgedByTheFloat64Check() throws {
        let temporary = try TemporaryFolder()
        defer { temporary.remove() }
        let path = try expectedFile(in: temporary) { $0[3] += 1e-3 }
        let text = try run("rnn-verify", [Self.model, Self.inputs, path])
        #expect(text.status == 1, "\(text.error)")
        let lines = text.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "\(text.output)")
        #expect(lines[0].hasPrefix("output  shape [7, 1, 5]  max abs error 0.001  ") && lines[0].contains("failing 1 of 35  worst at [0, 0, 3]"), "\(lines[0])")
        #expect(lines[1].hasPrefix("  float64 check: ours ") && lines[1].contains(" from float64, expected 0.001 from float64: ours closer, not float32 rounding"), "\(lines[1])")
        #expect(lines[2].hasPrefix("h_n     shape [1, 1, 5]"))
        #expect(lines[3].hasPrefix("  float64 check: ours ") && lines[3].hasSuffix(": float32 rounding"), "\(lines[3])")
        #expect(lines[4] == "MISMATCH (float32, atol 1e-05, rtol 1.3e-06)")

        let json = try object(try run("rnn-verify", [Self.model, Self.inputs, path, "--json"]))
        #expect(json["verified"] as? Bool == false)
        let output = try #require(try tensor(json, "output")["float64_check"] as? [String: Any])
        #expect(output["verdict"] as? String == "ours_closer")
        let ours = try #require(output["ours_max_abs_from_float64"] as? Double)
        let expected = try #require(output["expected_max_abs_from_float64"] as? Double)
        #expect(ours < 1e-6 && abs(expected - 1e-3) < 1e-6)
        #expect((output["rounding_floor"] as? Double ?? 0) > 0)
        let hN = try #require(try tensor(json, "h_n")["float64_check"] as? [String: Any])
        #expect(hN["verdict"] as? String == "rounding")
    }

    @Test func zeroToleranceMismatchIsFloat32Rounding() throws {
        let result = try run("rnn-verify", [Self.model, Self.inputs, Self.expected, "--atol", "0", "--rtol", "0"])
        #expect(result.status == 1)
        let checks = result.output.split(separator: "\n").filter { $0.hasPrefix("  float64 check: ") }
        #expect(checks.count == 2 && checks.allSatisfy { $0.hasSuffix(": float32 rounding") }, "\(result.output)")
    }

    @Test func float64ModelsHaveNoFloat64Check() throws {
        let f64 = "torch/gru_l2_bi_f64/"
        let arguments = [f64 + "model.npz", f64 + "inputs.npz", f64 + "expected.npz"].map { Repository.fixture($0).path }
        let result = try run("rnn-verify", arguments + ["--atol", "0", "--rtol", "0", "--json"])
        #expect(result.status == 1, "\(result.output)")
        #expect(try tensor(try object(result), "output")["float64_check"] == nil)
    }

    @Test func nanAndInfinityInExpectedValuesAreCountedApart() throws {
        let temporary = try TemporaryFolder()
        defer { temporary.remove() }
        let path = try expectedFile(in: temporary) { values in
            values[0] = .nan
            values[7] = .infinity
            values[8] = -.infinity
        }
        let text = try run("rnn-verify", [Self.model, Self.inputs, path])
        #expect(text.status == 1, "\(text.error)")
        let first = try #require(text.output.split(separator: "\n").first.map(String.init))
        #expect(first.contains("failing 3 of 35 (1 number where NaN was expected, 2 infinity mismatches)  worst at [0, 0, 0]"), "\(first)")
        #expect(text.output.contains("expected inf from float64: ours closer, not float32 rounding"), "\(text.output)")

        let json = try object(try run("rnn-verify", [Self.model, Self.inputs, path, "--json"]))
        let output = try tensor(json, "output")
        #expect(output["failing"] as? Int == 3)
        #expect((output["max_abs_error"] as? Double ?? 1) < 1e-6, "the largest error stays over finite values")
        #expect(output["number_where_nan_expected"] as? Int == 1)
        #expect(output["nan_where_number_expected"] as? Int == 0)
        #expect(output["infinity_mismatches"] as? Int == 2)
        let check = try #require(output["float64_check"] as? [String: Any])
        #expect(check["expected_max_abs_from_float64"] is NSNull, "JSON has no infinity")
        #expect(check["verdict"] as? String == "ours_closer")
    }

    @Test func nanInOurResultWhereANumberIsExpectedIsCounted() throws {
        // A NaN in the last step's input: our last output row (5 values) and h_n (5) are NaN, PyTorch's are not.
        let temporary = try TemporaryFolder()
        defer { temporary.remove() }
        var dict = try TensorFile.read(contentsOf: URL(fileURLWithPath: Self.inputs))
        let input = try #require(dict["input"])
        var values = try input.floatValues()
        values[values.count - 1] = .nan
        dict["input"] = try Tensor(shape: input.shape, elements: values)
        let path = temporary.file("inputs.npz")
        try TensorFile.write(dict, to: path)
        let result = try run("rnn-verify", [Self.model, path.path, Self.expected])
        #expect(result.status == 1, "\(result.error)")
        let lines = result.output.split(separator: "\n")
        #expect(lines[0].contains("failing 5 of 35 (5 NaNs where numbers were expected)  worst at [6, 0, 0]"), "\(result.output)")
        #expect(lines.contains { $0.hasPrefix("h_n ") && $0.contains("failing 5 of 5 (5 NaNs where numbers were expected)") }, "\(result.output)")
    }

    @Test func integerExpectedTensorIsRefusedNamingFileTensorAndDType() throws {
        let temporary = try TemporaryFolder()
        defer { temporary.remove() }
        var dict = try TensorFile.read(contentsOf: URL(fileURLWithPath: Self.expected))
        let hN = try #require(dict["h_n"])
        dict["h_n"] = try Tensor(shape: hN.shape, elements: try hN.floatValues().map { Int32($0) })
        let path = temporary.file("expected.npz").path
        try TensorFile.write(dict, to: URL(fileURLWithPath: path))
        let result = try run("rnn-verify", [Self.model, Self.inputs, path])
        #expect(result.status == 2)
        #expect(result.output.isEmpty)
        #expect(result.error == "error: \(path): tensor \"h_n\" is int32; expected values must be floating-point, as PyTorch's outputs are\n")
    }

    @Test(arguments: ["--atol", "--rtol"])
    func negativeToleranceIsAUsageErrorSayingItMustBeAtLeastZero(_ option: String) throws {
        for value in ["-1", "-1e-3"] {
            let result = try run("rnn-verify", [Self.model, Self.inputs, Self.expected, option, value])
            #expect(result.status == 64)
            #expect(result.error.contains("\(option) must be a finite number ≥ 0, not \(value == "-1" ? "-1" : "-0.001")"), "\(result.error)")
            #expect(!result.error.contains("Missing value"))
        }
    }
}
