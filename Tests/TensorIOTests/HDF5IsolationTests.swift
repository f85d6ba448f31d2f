import Foundation
import Testing
@testable import TensorIO

/// Reading HDF5 in `rnn-hdf5-worker` survives files that crash or hang libhdf5 (Fixtures/hdf5-cve: the HDF
/// Group's public CVE reproducers, copied from ../shared/corpus), and gives the same tensors as reading in process.
struct HDF5IsolationTests {
    static let corpus: [String] = {
        let folder = Repository.fixture("hdf5-cve").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0 != "COPYING" && $0 != "README.md" }.sorted()
    }()

    @Test func corpusIsComplete() {
        #expect(Self.corpus.count == 136)
    }

    /// Every CVE file ends in a result or a one-line TensorFileError naming it, within the time limit; the test
    /// process itself never crashes (in process, libhdf5 1.10.8 would segfault on several of these).
    @Test(arguments: corpus)
    func hostileFileNeverCrashesTheCaller(_ name: String) throws {
        let url = Repository.fixture("hdf5-cve/" + name)
        let started = Date()
        do {
            _ = try HDF5Format.readIsolated(contentsOf: url, limits: HDF5IsolationLimits(seconds: 20))
        } catch let error as TensorFileError {
            #expect(error.description.contains(name))
            #expect(!error.description.contains("\n"), "\(error)")
        }
        #expect(Date().timeIntervalSince(started) < 25)
    }

    @Test func someCorpusFilesReallyCrashLibhdf5AndAreReportedSo() throws {
        var crashes = 0
        for name in ["cve-2025-6269-1.h5"] {
            do {
                _ = try HDF5Format.readIsolated(contentsOf: Repository.fixture("hdf5-cve/" + name))
            } catch let error as TensorFileError {
                if error.description.contains("crashed") { crashes += 1 }
            }
        }
        #expect(crashes == 1)
    }

    @Test(arguments: Manifest.formats.files.keys.sorted().filter { $0.hasSuffix(".h5") })
    func isolatedReadGivesTheSameTensorsAsInProcess(_ relative: String) throws {
        let url = Repository.fixture("formats/" + relative)
        #expect(try HDF5Format.readIsolated(contentsOf: url) == HDF5Format.read(contentsOf: url))
    }

    @Test func refusalsInTheWorkerKeepTheirKind() throws {
        let url = Repository.fixture("formats/h5_bad/external_link.h5")
        do {
            _ = try HDF5Format.readIsolated(contentsOf: url)
            Issue.record("an external link was followed")
        } catch let error as TensorFileError {
            #expect(error.problem.kind == "refusedLink")
            #expect(error.tensor == "elsewhere")
            #expect(error.path == url.path)
        }
    }

    @Test func tooLittleTimeStopsTheWorker() throws {
        let url = Repository.fixture("torch/wide_hidden_f32/model.h5")
        do {
            _ = try HDF5Format.readIsolated(contentsOf: url, limits: HDF5IsolationLimits(seconds: 0.000_001))
            Issue.record("the worker finished within a microsecond")
        } catch let error as TensorFileError {
            #expect(error.problem.kind == "hdf5")
        }
    }

    @Test func isolatedTensorsAreIndependentCopiesOnWrite() throws {
        let url = Repository.fixture("formats/h5/flat.h5")
        let dict = try HDF5Format.readIsolated(contentsOf: url)
        var tensor = dict.tensors.values.first!
        let before = tensor
        tensor.withUnsafeMutableBytes { $0[0] ^= 0xFF }
        #expect(tensor != before)
        #expect(try HDF5Format.read(contentsOf: url).tensors.values.first! == before)
    }
}
