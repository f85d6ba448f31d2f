// fuzz-npy: arbitrary bytes through FuzzEntryPoints.npy (see tools/fuzz.sh).
import FuzzMain
import TensorIO

@main
enum FuzzNPY {
    static func main() { FuzzMain.run(FuzzEntryPoints.npy) }
}
