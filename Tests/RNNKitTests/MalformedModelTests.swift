import Foundation
import Testing
import TestSupport
@testable import RNNKit

/// The broken models of Fixtures/malformed/models/ (tools/make_malformed.py): valid NPZ, safetensors, HDF5 and
/// PyTorch containers whose state_dict is not a usable RNN.
struct MalformedModelManifest: Decodable {
    struct Expected: Decodable {
        /// The `RNNLoadError` case.
        let error: String
        /// A part of its description.
        let description: String
        let why: String
    }
    let models: [String: Expected]

    static let shared: MalformedModelManifest = {
        let data = try! Data(contentsOf: Repository.fixture("malformed/manifest.json"))
        return try! JSONDecoder().decode(MalformedModelManifest.self, from: data)
    }()
}

/// Every broken model gives its own `RNNLoadError`, whose description names the tensor and what is wrong.
struct MalformedModelTests {
    @Test(arguments: MalformedModelManifest.shared.models.keys.sorted())
    func brokenStateDictGivesItsRNNLoadError(_ relative: String) throws {
        let expected = try #require(MalformedModelManifest.shared.models[relative])
        do {
            _ = try RNN(contentsOf: Repository.fixture("malformed/" + relative))
            Issue.record("\(relative) (\(expected.why)) loaded")
        } catch let error as RNNLoadError {
            #expect(Self.caseName(error) == expected.error, "\(relative): \(error)")
            #expect(error.description.contains(expected.description), "\(relative): \(error)")
        }
    }

    static func caseName(_ error: RNNLoadError) -> String {
        switch error {
        case .noRNN: "noRNN"
        case .ambiguous: "ambiguous"
        case .prefixNotFound: "prefixNotFound"
        case .missingTensor: "missingTensor"
        case .unexpectedTensor: "unexpectedTensor"
        case .layerGap: "layerGap"
        case .wrongShape: "wrongShape"
        case .wrongRank: "wrongRank"
        case .notFloat: "notFloat"
        case .mixedDTypes: "mixedDTypes"
        case .badMetadata: "badMetadata"
        case .metadataConflict: "metadataConflict"
        }
    }
}
