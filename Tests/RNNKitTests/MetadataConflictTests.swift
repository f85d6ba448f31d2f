import Foundation
import Testing
import TestSupport
import RNNKit

/// Metadata that contradicts the tensors says what the tensors give; metadata that cannot be read says what
/// is accepted.
struct MetadataConflictTests {
    static func model(_ metadata: [String: String]) throws -> StateDict {
        var dict = try TensorFile.read(contentsOf: Repository.fixture("torch/lstm_l1_uni_meta_f32/model.npz"))
        for (key, value) in metadata { dict.metadata[key] = value }
        return dict
    }

    @Test(arguments: [
        ("mode", "gru", #"metadata mode = "gru" conflicts with the tensors, which give mode = lstm"#),
        ("hidden_size", "99", #"metadata hidden_size = "99" conflicts with the tensors, which give hidden_size = "#),
        ("bidirectional", "true", #"metadata bidirectional = "true" conflicts with the tensors, which give bidirectional = false"#),
        ("dropout", "lots", #"metadata dropout = "lots" is not understood (expected a number from 0 to 1)"#),
        ("mode", "transformer", #"metadata mode = "transformer" is not understood (expected rnn, lstm or gru)"#),
    ])
    func metadataProblemsSayWhatIsWrong(_ key: String, _ value: String, _ message: String) throws {
        let dict = try Self.model([key: value])
        #expect {
            _ = try RNN(stateDict: dict)
        } throws: { error in
            "\(error)".hasPrefix(message)
        }
    }
}
