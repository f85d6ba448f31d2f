import Foundation
import Testing
import TestSupport

/// Every file of the HDF Group's CVE collection (Fixtures/hdf5-cve, copied from ../shared/corpus; libhdf5 1.10.8
/// crashes or loops on many of them in process) through `rnn-inspect` and `rnn-convert` with their defaults:
/// exit 0 or 2, within 20 s, and on 2 one stderr line naming the file. None of them holds an RNN, so `rnn-convert`
/// must refuse every one and write nothing.
struct HostileHDF5CommandTests {
    static let corpus = Repository.hdf5CVECorpus

    @Test func corpusIsComplete() {
        #expect(Self.corpus.count == 136)
    }

    @Test(arguments: corpus)
    func inspectAndConvertEndCleanlyWithinTwentySeconds(_ name: String) throws {
        let path = Repository.fixture("hdf5-cve/" + name).path
        let temporary = try TemporaryFolder()
        defer { temporary.remove() }
        let folder = temporary.url

        for (command, arguments) in [("rnn-inspect", [path]), ("rnn-convert", [path, "-o", folder.appending(path: "out.npz").path])] {
            let started = Date()
            let result = try run(command, arguments)
            let seconds = Date().timeIntervalSince(started)
            #expect(seconds < 20, "\(command) \(name) took \(seconds) s")
            #expect(result.status == 0 || result.status == 2, "\(command) \(name) exited \(result.status): \(result.error)")
            if result.status == 2 {
                let lines = result.error.split(separator: "\n", omittingEmptySubsequences: false)
                #expect(lines.count == 2 && lines[1].isEmpty, "\(command) \(name): \(result.error)")
                #expect(result.error.contains(name), "\(command) \(name): \(result.error)")
            }
            if command == "rnn-convert" {
                #expect(result.status == 2, "\(command) \(name) found an RNN in a CVE reproducer")
            }
        }
        #expect(try temporary.contents().isEmpty, "\(name): a file was left behind")
    }
}
