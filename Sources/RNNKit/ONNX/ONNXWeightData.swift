/// The `raw_data` of a float initializer (W, R, B, or a default state), described rather than held: runs of an
/// RNN tensor's elements (one gate block of PyTorch's rows each, laid out in ONNX's order by the builder) and
/// runs of zeros, converted to the export precision only when the model is written, a piece at a time.
///
/// Elements are widened to `Double` (exactly, from every float dtype) and then stored in the export precision,
/// so a float64 weight exported as float32 rounds to nearest, and the bytes are little-endian.
struct ONNXWeightData {
    /// A run of elements, in file order.
    enum Run {
        /// Elements `range` of `tensor` (row-major), in order.
        case elements(Tensor, Range<Int>)
        /// `count` zeros.
        case zeros(Int)

        var count: Int {
            switch self {
            case .elements(_, let range): range.count
            case .zeros(let count): count
            }
        }
    }

    let precision: Precision
    private(set) var runs: [Run] = []
    /// The first element of each run.
    private var starts: [Int] = []
    /// The number of elements.
    private(set) var elementCount = 0

    init(precision: Precision) {
        self.precision = precision
    }

    /// The size of one stored element: 4 bytes for float32, 8 for float64.
    var elementSize: Int { precision == .float64 ? 8 : 4 }
    var byteCount: Int { elementCount * elementSize }

    /// Appends elements `range` of `tensor`, which must be a float tensor.
    mutating func append(_ tensor: Tensor, elements range: Range<Int>) {
        append(.elements(tensor, range))
    }

    /// Appends `count` zeros.
    mutating func appendZeros(_ count: Int) {
        append(.zeros(count))
    }

    private mutating func append(_ run: Run) {
        guard run.count > 0 else { return }
        runs.append(run)
        starts.append(elementCount)
        elementCount += run.count
    }

    /// The data as a protobuf `bytes` field produced when the model is written.
    var deferredBytes: ProtobufWriter.DeferredBytes {
        ProtobufWriter.DeferredBytes(count: byteCount) { offset, buffer in fill(from: offset, into: buffer) }
    }

    /// Writes bytes `offset ..< offset + buffer.count` of the data into `buffer`: whole elements, and a buffer
    /// aligned to the element size (as `ProtobufWriter.write(to:)` gives it).
    func fill(from offset: Int, into buffer: UnsafeMutableRawBufferPointer) {
        precondition(offset % elementSize == 0 && buffer.count % elementSize == 0 && offset + buffer.count <= byteCount)
        precondition(buffer.isEmpty || Int(bitPattern: buffer.baseAddress!) % elementSize == 0)
        let first = offset / elementSize
        let end = first + buffer.count / elementSize
        var element = first
        var index = starts.lastIndex { $0 <= element } ?? 0
        while element < end {
            let run = runs[index]
            let within = element - starts[index]
            let count = min(run.count - within, end - element)
            let byteOffset = (element - first) * elementSize
            let destination = UnsafeMutableRawBufferPointer(rebasing: buffer[byteOffset ..< byteOffset + count * elementSize])
            switch run {
            case .zeros:
                destination.initializeMemory(as: UInt8.self, repeating: 0)
            case .elements(let tensor, let range):
                store(tensor, range.lowerBound + within ..< range.lowerBound + within + count, into: destination)
            }
            element += count
            index += 1
        }
    }

    /// Stores `elements` of `tensor` into `destination` (aligned to the element size) in the export precision.
    ///
    /// One plain loop per source dtype and precision: a generic loop with a conversion closure took 29 s for
    /// a 268 MB model in a debug build, where nothing is specialised or inlined.
    private func store(_ tensor: Tensor, _ elements: Range<Int>, into destination: UnsafeMutableRawBufferPointer) {
        let n = elements.count
        tensor.withUnsafeBytes { raw in
            func source<T>(_: T.Type) -> UnsafePointer<T> { raw.baseAddress!.assumingMemoryBound(to: T.self) + elements.lowerBound }
            switch precision {
            case .float32:
                let out = destination.baseAddress!.assumingMemoryBound(to: UInt32.self)
                switch tensor.dtype {
                case .float16: let s = source(Float16.self); for i in 0..<n { out[i] = Float(Double(s[i])).bitPattern.littleEndian }
                case .bfloat16: let s = source(BFloat16.self); for i in 0..<n { out[i] = Float(Double(s[i].floatValue)).bitPattern.littleEndian }
                case .float32: let s = source(Float.self); for i in 0..<n { out[i] = Float(Double(s[i])).bitPattern.littleEndian }
                case .float64: let s = source(Double.self); for i in 0..<n { out[i] = Float(s[i]).bitPattern.littleEndian }
                default: preconditionFailure("an RNN's tensors are floating-point (checked when it was loaded)")
                }
            case .float64:
                let out = destination.baseAddress!.assumingMemoryBound(to: UInt64.self)
                switch tensor.dtype {
                case .float16: let s = source(Float16.self); for i in 0..<n { out[i] = Double(s[i]).bitPattern.littleEndian }
                case .bfloat16: let s = source(BFloat16.self); for i in 0..<n { out[i] = Double(s[i].floatValue).bitPattern.littleEndian }
                case .float32: let s = source(Float.self); for i in 0..<n { out[i] = Double(s[i]).bitPattern.littleEndian }
                case .float64: let s = source(Double.self); for i in 0..<n { out[i] = s[i].bitPattern.littleEndian }
                default: preconditionFailure("an RNN's tensors are floating-point (checked when it was loaded)")
                }
            }
        }
    }
}
