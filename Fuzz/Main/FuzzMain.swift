// The main of every fuzz target (Fuzz/NPY, Zip, SafeTensors, Pickle): each hands its entry point to `FuzzMain.run`.
// Built with -sanitize=fuzzer -DFUZZING, it gives libFuzzer's driver the input handler (SwiftPM renames an
// executable's entry point, so libFuzzer's own main is not linked); built plainly, it replays the files and
// folders given as arguments (a corpus, a crash file) and exits 0 unless one crashes.
import Foundation
import TensorIO
#if FUZZING
import CLibFuzzer
#endif

/// The running target's entry point: a process fuzzes one parser.
nonisolated(unsafe) private var entryPoint: (UnsafeRawBufferPointer) -> Void = { _ in }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    entryPoint(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

public enum FuzzMain {
    /// Fuzzes (or, built plainly, replays the arguments through) `entry`, then exits.
    public static func run(_ entry: @escaping (UnsafeRawBufferPointer) -> Void) -> Never {
        entryPoint = entry
        #if FUZZING
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
        #else
        exit(FuzzEntryPoints.replay(Array(CommandLine.arguments.dropFirst()), through: entry))
        #endif
    }
}
