// fuzz-onnx: arbitrary bytes through FuzzEntryPoints.onnx (see tools/fuzz.sh).
import FuzzMain
import TensorIO

@main
enum FuzzONNX {
    static func main() { FuzzMain.run(FuzzEntryPoints.onnx) }
}
