/// One array decoded from NPY bytes: numbers become a tensor, a single unicode string becomes metadata.
enum NPYArray {
    case tensor(Tensor)
    case string(String)

    /// Decodes one NPY array from `source`, which must hold nothing after it.
    ///
    /// The declared size is checked against `source.remaining` before the tensor is allocated, so a
    /// hostile header cannot make the reader allocate more than the file holds.
    static func read(from source: inout some ByteSource, path: String, name: String) throws -> NPYArray {
        func fail(_ problem: TensorFileError.Problem) -> TensorFileError {
            TensorFileError(path: path, tensor: name, problem: problem)
        }
        let header: NPYHeader
        let headerBytes: Int
        do { (header, headerBytes) = try NPYHeader.read(from: &source) } catch {
            switch error {
            case .problem(let problem): throw fail(problem)
            case .source(let inner): throw (inner as? TensorFileError)?.inTensor(name) ?? inner
            }
        }
        guard let count = Tensor.elementCount(of: header.shape),
              case let (dataBytes, overflow) = count.multipliedReportingOverflow(by: header.element.byteSize), !overflow
        else { throw fail(.invalidShape(header.shape)) }
        let available = source.remaining
        guard dataBytes <= available else {
            throw fail(.truncated(expected: headerBytes + dataBytes, found: headerBytes + available))
        }
        guard dataBytes == available else { throw fail(.trailingBytes(available - dataBytes)) }

        switch header.element {
        case .unicode(let length, let swapped):
            guard count <= 1 else {
                throw fail(.unsupportedDType("an array of \(count) strings (a single string is read, as metadata)"))
            }
            var bytes = [UInt8](repeating: 0, count: dataBytes)
            try bytes.withUnsafeMutableBytes { try readExactly(into: $0, from: &source, fail: fail, headerBytes: headerBytes) }
            var scalars = String.UnicodeScalarView()
            for i in 0..<(count * length) {
                var code: UInt32 = 0
                for b in 0..<4 { code |= UInt32(bytes[4 * i + b]) << (8 * b) }
                if swapped { code = code.byteSwapped }
                guard let scalar = Unicode.Scalar(code) else { throw fail(.malformed("string holds an invalid code point")) }
                scalars.append(scalar)
            }
            // numpy drops trailing NULs of fixed-width strings.
            while scalars.last == "\0" { scalars.removeLast() }
            return .string(String(scalars))

        case .number(let dtype, let swapped):
            let storedShape = header.fortranOrder ? header.shape.reversed() : header.shape
            var tensor: Tensor
            if let storage = source.takeRemainingStorage(), storage.bytes.count == dataBytes {
                // Already in memory (an inflated NPZ member): the tensor takes the bytes where they are.
                tensor = Tensor(dtype: dtype, shape: storedShape, storage: storage)
                if swapped { tensor.withUnsafeMutableBytes { ByteOrder.swap($0, elementSize: dtype.byteSize) } }
            } else {
                tensor = try Tensor(zeros: dtype, shape: storedShape)
                try tensor.withUnsafeMutableBytes { buffer in
                    try readExactly(into: buffer, from: &source, fail: fail, headerBytes: headerBytes)
                    if swapped { ByteOrder.swap(buffer, elementSize: dtype.byteSize) }
                }
            }
            if dtype == .bool {
                // numpy bools are 0 or 1; anything else would make two equal-looking tensors compare unequal.
                let bad = tensor.withUnsafeBytes { $0.contains { $0 > 1 } }
                guard !bad else { throw fail(.malformed("bool data holds a byte other than 0 or 1")) }
            }
            if header.fortranOrder, header.shape.count > 1 {
                tensor = Layout.transposed(tensor, to: header.shape)
            }
            return .tensor(tensor)
        }
    }

    private static func readExactly(
        into buffer: UnsafeMutableRawBufferPointer, from source: inout some ByteSource,
        fail: (TensorFileError.Problem) -> TensorFileError, headerBytes: Int
    ) throws {
        let n: Int
        do { n = try source.readFully(into: buffer) } catch let error as TensorFileError {
            throw error.tensor == nil ? fail(error.problem) : error
        }
        guard n == buffer.count else { throw fail(.truncated(expected: headerBytes + buffer.count, found: headerBytes + n)) }
    }

    /// The NPY bytes of `tensor`, header then data, as `numpy.save` writes them.
    static func header(for tensor: Tensor, path: String, name: String) throws -> [UInt8] {
        guard let descr = NPYHeader.descr(for: tensor.dtype) else {
            throw TensorFileError(path: path, tensor: name, problem: .cannotStore(
                "numpy has no bfloat16; convert to float32 (or write safetensors or HDF5) to keep it"))
        }
        return NPYHeader.encode(descr: descr, shape: tensor.shape)
    }
}
