import Foundation

/// An n-dimensional array: a shape, a dtype and contiguous row-major storage in native byte order.
///
/// A value type: copies share storage until one of them is written to. Two tensors are equal when their
/// dtypes, shapes and bytes are identical (so NaNs with the same bits are equal, and -0.0 differs from 0.0).
public struct Tensor: Sendable, Equatable, CustomStringConvertible {
    /// The element type.
    public let dtype: DType
    /// The size of each dimension, outermost first; empty for a 0-d (scalar) tensor.
    public let shape: [Int]
    var storage: TensorStorage

    /// A zero-filled tensor. Throws `TensorError.invalidShape` for a negative dimension or an overflowing size.
    public init(zeros dtype: DType, shape: [Int]) throws {
        guard let count = Tensor.byteCount(of: shape, dtype: dtype) else { throw TensorError.invalidShape(shape) }
        self.dtype = dtype
        self.shape = shape
        self.storage = TensorStorage(byteCount: count)
    }

    /// A tensor over existing storage (a slice of a mapped file, say); the caller has checked the size.
    init(dtype: DType, shape: [Int], storage: TensorStorage) {
        self.dtype = dtype
        self.shape = shape
        self.storage = storage
    }

    /// A tensor holding `elements` in row-major order; throws if their count does not fit `shape`.
    public init<T: TensorElement>(shape: [Int], elements: [T]) throws {
        guard let count = Tensor.elementCount(of: shape) else { throw TensorError.invalidShape(shape) }
        guard count == elements.count else { throw TensorError.elementCountMismatch(shape: shape, count: elements.count) }
        try self.init(zeros: T.dtype, shape: shape)
        elements.withUnsafeBytes { source in
            if source.count > 0 { storage.bytes.copyMemory(from: source) }
        }
    }

    /// The same elements under another shape of the same element count (`torch.reshape` of a contiguous tensor);
    /// shares the storage until one of them is written to.
    public func reshaped(_ shape: [Int]) throws -> Tensor {
        guard let count = Tensor.elementCount(of: shape) else { throw TensorError.invalidShape(shape) }
        guard count == elementCount else { throw TensorError.elementCountMismatch(shape: shape, count: elementCount) }
        return Tensor(dtype: dtype, shape: shape, storage: storage)
    }

    /// The number of elements: the product of the shape (1 for a 0-d tensor).
    public var elementCount: Int { shape.reduce(1, *) }

    /// The number of bytes of the data.
    public var byteCount: Int { storage.bytes.count }

    /// The element count of `shape`, or nil when a dimension is negative or the product overflows.
    public static func elementCount(of shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }

    /// The byte count of a `shape` of `dtype`, or nil when the shape is invalid or the size overflows.
    public static func byteCount(of shape: [Int], dtype: DType) -> Int? {
        guard let count = elementCount(of: shape) else { return nil }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        return overflow ? nil : bytes
    }

    /// Calls `body` with the raw bytes, row-major, native byte order.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(storage.bytes))
    }

    /// Calls `body` with the raw bytes to write them, copying the storage first if another tensor shares it.
    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return try body(storage.bytes)
    }

    /// The elements in row-major order; throws `TensorError.dtypeMismatch` unless `T` is exactly the dtype.
    public func elements<T: TensorElement>(as type: T.Type = T.self) throws -> [T] {
        guard T.dtype == dtype else { throw TensorError.dtypeMismatch(expected: T.dtype, found: dtype) }
        return withUnsafeBytes { Array($0.bindMemory(to: T.self)) }
    }

    /// The elements widened to `Float`; throws `TensorError.inexactWidening` for dtypes that could round.
    public func floatValues() throws -> [Float] {
        guard dtype.widensExactlyToFloat else { throw TensorError.inexactWidening(from: dtype, to: "Float") }
        return try widened(to: Float.self)
    }

    /// The elements widened to `Double`; throws `TensorError.inexactWidening` for int64 and uint64.
    public func doubleValues() throws -> [Double] {
        guard dtype.widensExactlyToDouble else { throw TensorError.inexactWidening(from: dtype, to: "Double") }
        return try widened(to: Double.self)
    }

    /// The values of an integer tensor as `Int`s (sequence lengths, say); nil for other dtypes or out-of-range values.
    public func integerValues() -> [Int]? {
        func convert<T: BinaryInteger & TensorElement>(_: T.Type) -> [Int]? {
            guard let values = try? elements(as: T.self) else { return nil }
            var result: [Int] = []
            for value in values {
                guard let int = Int(exactly: value) else { return nil }
                result.append(int)
            }
            return result
        }
        return switch dtype {
        case .int8: convert(Int8.self)
        case .int16: convert(Int16.self)
        case .int32: convert(Int32.self)
        case .int64: convert(Int64.self)
        case .uint8: convert(UInt8.self)
        case .uint16: convert(UInt16.self)
        case .uint32: convert(UInt32.self)
        case .uint64: convert(UInt64.self)
        default: nil
        }
    }

    private func widened<F: BinaryFloatingPoint>(to: F.Type) throws -> [F] {
        func map<T>(_: T.Type, _ convert: (T) -> F) -> [F] {
            withUnsafeBytes { $0.bindMemory(to: T.self).map(convert) }
        }
        return switch dtype {
        case .float16: map(Float16.self) { F($0) }
        case .bfloat16: map(BFloat16.self) { F($0.floatValue) }
        case .float32: map(Float.self) { F($0) }
        case .float64: map(Double.self) { F($0) }
        case .int8: map(Int8.self) { F($0) }
        case .int16: map(Int16.self) { F($0) }
        case .int32: map(Int32.self) { F($0) }
        case .int64: map(Int64.self) { F($0) }
        case .uint8: map(UInt8.self) { F($0) }
        case .uint16: map(UInt16.self) { F($0) }
        case .uint32: map(UInt32.self) { F($0) }
        case .uint64: map(UInt64.self) { F($0) }
        case .bool: map(UInt8.self) { $0 == 0 ? 0 : 1 }
        }
    }

    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        lhs.dtype == rhs.dtype && lhs.shape == rhs.shape
            && (lhs.storage === rhs.storage || lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 } })
    }

    public var description: String { "Tensor(\(dtype), shape: \(shape))" }
}
