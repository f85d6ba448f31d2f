// fuzz-zip: arbitrary bytes through FuzzEntryPoints.zip (see tools/fuzz.sh).
// Built with -sanitize=fuzzer -DFUZZING, main hands LLVMFuzzerTestOneInput to libFuzzer's driver (SwiftPM renames
// an executable's entry point, so libFuzzer's own main is not linked); built plainly, the target replays the
// files and folders given as arguments (a corpus, a crash file) and exits 0 unless one crashes.
import Foundation
import TensorIO
#if FUZZING
import CLibFuzzer
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzEntryPoints.zip(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

@main
struct Main {
    static func main() {
        #if FUZZING
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
        #else
        exit(FuzzEntryPoints.replay(Array(CommandLine.arguments.dropFirst()), through: FuzzEntryPoints.zip))
        #endif
    }
}
