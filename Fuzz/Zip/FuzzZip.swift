// fuzz-zip: arbitrary bytes through FuzzEntryPoints.zip (see tools/fuzz.sh).
import FuzzMain
import TensorIO

@main
enum FuzzZip {
    static func main() { FuzzMain.run(FuzzEntryPoints.zip) }
}
