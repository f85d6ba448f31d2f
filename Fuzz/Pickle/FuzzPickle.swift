// fuzz-pickle: arbitrary bytes through FuzzEntryPoints.pickle (see tools/fuzz.sh).
import FuzzMain
import TensorIO

@main
enum FuzzPickle {
    static func main() { FuzzMain.run(FuzzEntryPoints.pickle) }
}
