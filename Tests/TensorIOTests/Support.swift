import Foundation
import Testing
import TestSupport
@testable import TensorIO


/// The expected contents of the fixtures that tools/make_fixtures.py wrote with numpy and h5py.
struct Manifest: Decodable {
    struct ExpectedTensor: Decodable {
        let name: String
        let dtype: String
        let shape: [Int]
        let hex: String

        var bytes: [UInt8] {
            var result: [UInt8] = []
            var index = hex.startIndex
            while index < hex.endIndex {
                let next = hex.index(index, offsetBy: 2)
                result.append(UInt8(hex[index..<next], radix: 16)!)
                index = next
            }
            return result
        }

        func tensor() throws -> Tensor {
            var tensor = try Tensor(zeros: DType(rawValue: dtype)!, shape: shape)
            let bytes = self.bytes
            tensor.withUnsafeMutableBytes { buffer in bytes.withUnsafeBytes { if $0.count > 0 { buffer.copyMemory(from: $0) } } }
            return tensor
        }
    }
    struct ExpectedFile: Decodable {
        let tensors: [ExpectedTensor]
        let metadata: [String: String]

        func stateDict() throws -> StateDict {
            var result = StateDict()
            for tensor in tensors { result.tensors[tensor.name] = try tensor.tensor() }
            for key in metadata.keys.sorted() { result.metadata[key] = metadata[key] }
            return result
        }
    }
    let files: [String: ExpectedFile]
    let refused: [String: String]

    static let formats: Manifest = {
        let data = try! Data(contentsOf: Repository.fixture("formats/manifest.json"))
        return try! JSONDecoder().decode(Manifest.self, from: data)
    }()
}

/// The bytes of a file.
func bytes(of url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }

/// Checks that `stateDict` holds exactly the manifest's tensors, in its order, with identical dtypes, shapes and bytes.
func expectTensors(of stateDict: StateDict, match expected: Manifest.ExpectedFile,
                   sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(stateDict.names == expected.tensors.map(\.name), sourceLocation: sourceLocation)
    for tensor in expected.tensors {
        let found = try #require(stateDict[tensor.name], sourceLocation: sourceLocation)
        #expect(found.dtype.rawValue == tensor.dtype, "\(tensor.name)", sourceLocation: sourceLocation)
        #expect(found.shape == tensor.shape, "\(tensor.name)", sourceLocation: sourceLocation)
        #expect(found.withUnsafeBytes { Array($0) } == tensor.bytes, "\(tensor.name)", sourceLocation: sourceLocation)
    }
}
