import CHDF5

/// How each dtype is stored in HDF5, and how a file's types map back to dtypes.
///
/// Numbers use the little-endian standard types h5py writes; float16 and bfloat16 are IEEE-style float types
/// built from fields (h5py's own float16 is sign 15, exponent 10–14, mantissa 0–9, bias 15; bfloat16 is
/// exponent 7–14, mantissa 0–6, bias 127); bool is h5py's enum of int8 with FALSE = 0 and TRUE = 1.
enum HDF5Types {
    /// A new type id for `dtype` as stored in a file; the caller closes it.
    static func fileType(for dtype: DType) -> hid_t {
        switch dtype {
        case .float16: halfType(exponentBits: 5, mantissaBits: 10, bias: 15)
        case .bfloat16: halfType(exponentBits: 8, mantissaBits: 7, bias: 127)
        case .float32: H5Tcopy(rnn_h5t_ieee_f32le())
        case .float64: H5Tcopy(rnn_h5t_ieee_f64le())
        case .int8: H5Tcopy(rnn_h5t_std_i8le())
        case .int16: H5Tcopy(rnn_h5t_std_i16le())
        case .int32: H5Tcopy(rnn_h5t_std_i32le())
        case .int64: H5Tcopy(rnn_h5t_std_i64le())
        case .uint8: H5Tcopy(rnn_h5t_std_u8le())
        case .uint16: H5Tcopy(rnn_h5t_std_u16le())
        case .uint32: H5Tcopy(rnn_h5t_std_u32le())
        case .uint64: H5Tcopy(rnn_h5t_std_u64le())
        case .bool: boolType()
        }
    }

    /// A new type id for `dtype` in memory (this machine's byte order); the caller closes it.
    static func memoryType(for dtype: DType) -> hid_t {
        switch dtype {
        case .float16, .bfloat16, .bool: fileType(for: dtype)  // little-endian, as this machine
        case .float32: H5Tcopy(rnn_h5t_native_float())
        case .float64: H5Tcopy(rnn_h5t_native_double())
        case .int8: H5Tcopy(rnn_h5t_native_int8())
        case .int16: H5Tcopy(rnn_h5t_native_int16())
        case .int32: H5Tcopy(rnn_h5t_native_int32())
        case .int64: H5Tcopy(rnn_h5t_native_int64())
        case .uint8: H5Tcopy(rnn_h5t_native_uint8())
        case .uint16: H5Tcopy(rnn_h5t_native_uint16())
        case .uint32: H5Tcopy(rnn_h5t_native_uint32())
        case .uint64: H5Tcopy(rnn_h5t_native_uint64())
        }
    }

    private static func halfType(exponentBits: Int, mantissaBits: Int, bias: Int) -> hid_t {
        let type = H5Tcopy(rnn_h5t_ieee_f32le())
        H5Tset_fields(type, 15, mantissaBits, exponentBits, 0, mantissaBits)
        H5Tset_size(type, 2)
        H5Tset_ebias(type, bias)
        return type
    }

    private static func boolType() -> hid_t {
        let type = H5Tenum_create(rnn_h5t_native_int8())
        var no: Int8 = 0, yes: Int8 = 1
        H5Tenum_insert(type, "FALSE", &no)
        H5Tenum_insert(type, "TRUE", &yes)
        return type
    }

    /// The dtype of a dataset's file type, or a description of the type when no dtype fits.
    static func dtype(of type: hid_t) -> Result<DType, DescribedType> {
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_FLOAT:
            var signPosition = 0, exponentPosition = 0, exponentSize = 0, mantissaPosition = 0, mantissaSize = 0
            H5Tget_fields(type, &signPosition, &exponentPosition, &exponentSize, &mantissaPosition, &mantissaSize)
            switch (size, exponentSize, mantissaSize) {
            case (2, 5, 10): return .success(.float16)
            case (2, 8, 7): return .success(.bfloat16)
            case (4, 8, 23): return .success(.float32)
            case (8, 11, 52): return .success(.float64)
            default: return .failure(DescribedType("\(size * 8)-bit float with \(exponentSize) exponent and \(mantissaSize) mantissa bits"))
            }
        case H5T_INTEGER:
            let signed = H5Tget_sign(type) == H5T_SGN_2
            switch (size, signed) {
            case (1, true): return .success(.int8)
            case (2, true): return .success(.int16)
            case (4, true): return .success(.int32)
            case (8, true): return .success(.int64)
            case (1, false): return .success(.uint8)
            case (2, false): return .success(.uint16)
            case (4, false): return .success(.uint32)
            case (8, false): return .success(.uint64)
            default: return .failure(DescribedType("\(size * 8)-bit integer"))
            }
        case H5T_ENUM:
            if size == 1, H5Tget_nmembers(type) == 2, enumValue(type, "FALSE") == 0, enumValue(type, "TRUE") == 1 {
                return .success(.bool)
            }
            return .failure(DescribedType("enum (only h5py's FALSE/TRUE bool enum is read)"))
        case H5T_STRING: return .failure(DescribedType("string"))
        case H5T_COMPOUND: return .failure(DescribedType("compound (a record of fields)"))
        case H5T_VLEN: return .failure(DescribedType("variable-length sequence"))
        case H5T_ARRAY: return .failure(DescribedType("array type"))
        case H5T_REFERENCE: return .failure(DescribedType("object reference"))
        case H5T_OPAQUE: return .failure(DescribedType("opaque"))
        case H5T_BITFIELD: return .failure(DescribedType("bitfield"))
        case H5T_TIME: return .failure(DescribedType("time"))
        default: return .failure(DescribedType("unknown type class"))
        }
    }

    private static func enumValue(_ type: hid_t, _ name: String) -> Int8? {
        var value: Int8 = -1
        let status = H5Tenum_valueof(type, name, &value)
        if status < 0 { _ = HDF5Library.drainErrors(); return nil }
        return value
    }

    /// A human description of an HDF5 type that has no dtype.
    struct DescribedType: Error { let text: String; init(_ text: String) { self.text = text } }
}
