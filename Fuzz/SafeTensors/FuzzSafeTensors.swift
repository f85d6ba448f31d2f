// fuzz-safetensors: arbitrary bytes through FuzzEntryPoints.safeTensors (see tools/fuzz.sh).
import FuzzMain
import TensorIO

@main
enum FuzzSafeTensors {
    static func main() { FuzzMain.run(FuzzEntryPoints.safeTensors) }
}
