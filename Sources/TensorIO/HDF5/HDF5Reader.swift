import CHDF5
#if canImport(Glibc)
import Glibc
#endif
import OrderedCollections

/// Reads every dataset of an HDF5 file into a state_dict; call only inside `HDF5Library.locked`.
///
/// Groups are walked depth-first in creation order when the file tracks it (h5py's `track_order`), else in
/// name order, and flattened with dots. Soft and external links, virtual datasets and external storage are
/// refused: following them would read other files.
struct HDF5Reader {
    let path: String
    private var datasets = OrderedDictionary<String, Dataset>()
    private var metadata = StateDict.Metadata()
    private var ancestors: [UInt64] = []

    init(path: String) { self.path = path }

    /// One dataset of the file: read into a tensor, or found to hold the tensor's bytes at `offset` in the file
    /// exactly as the tensor wants them (contiguous, allocated, this machine's byte order), left for the caller
    /// to read itself (`HDF5Format.read`, or `HDF5Format.readIsolated`'s parent process).
    enum Dataset {
        case read(Tensor)
        case located(dtype: DType, shape: [Int], offset: Int)
    }

    /// Datasets up to this size may be mostly fill value (64 MiB); larger ones must store at least 1/1100 of it.
    static let unboundedAllowance = 64 << 20

    /// Every dataset in file order, read or located, and the metadata. libhdf5 opens `opening` (by default
    /// `path`, kept as bytes; `/proc/self/fd/N` to read a file already opened and checked); errors name `path`.
    static func read(path: String, opening: String? = nil) throws -> (OrderedDictionary<String, Dataset>, StateDict.Metadata) {
        var reader = HDF5Reader(path: path)
        let file = try HDF5Library.check(try open(opening ?? path), path)
        defer { H5Fclose(file) }
        let root = try HDF5Library.check(H5Gopen2(file, "/", rnn_h5p_default()), path)
        defer { H5Gclose(root) }
        try reader.walk(root, prefix: "")
        try reader.readMetadata(root)
        return (reader.datasets, reader.metadata)
    }

    /// Opens `name` read-only. libhdf5 resolves a symbolic link's real path when it opens a file, and
    /// /proc/self/fd/N of bytes held in memory (a memfd: `TensorFile.read(_ data:)`) has none: such a file is
    /// mapped and opened as an image of its bytes instead (libhdf5 copies the image; the mapping ends here). The
    /// check is on the descriptor itself, so the HDF5 worker, which gets only a descriptor, does the same.
    private static func open(_ name: String) throws -> hid_t {
        var target = [CChar](repeating: 0, count: 16)
        let length = FileSystemPath.withCString(name) { readlink($0, &target, target.count - 1) }
        let opened = { FileSystemPath.withCString(name) { H5Fopen($0, rnn_h5f_acc_rdonly(), rnn_h5p_default()) } }
        guard length > 0, String(cString: target).hasPrefix("/memfd:") else { return opened() }
        let input = try InputFile(path: name)
        guard input.size > 0 else { return opened() }  // libhdf5 says what is wrong with an empty file
        guard let image = mmap(nil, input.size, PROT_READ, MAP_PRIVATE, input.descriptor, 0), image != MAP_FAILED else {
            throw TensorFileError(path: name, problem: .io(systemMessage("cannot map the bytes")))
        }
        defer { munmap(image, input.size) }
        return rnn_h5f_open_image(image, input.size, "bytes")
    }

    private func fail(_ tensor: String?, _ problem: TensorFileError.Problem) -> TensorFileError {
        TensorFileError(path: path, tensor: tensor, problem: problem)
    }

    private mutating func walk(_ group: hid_t, prefix: String) throws {
        guard ancestors.count < 64 else { throw fail(prefix, .malformed("groups nested more than 64 deep")) }
        var key: UInt64 = 0
        try HDF5Library.check(herr_t(rnn_h5_object_key(group, &key)), path, prefix)
        guard !ancestors.contains(key) else {
            throw fail(prefix, .refusedLink("group links back to one of its ancestors (a cycle)"))
        }
        ancestors.append(key)
        defer { ancestors.removeLast() }
        try readKerasAttributes(group, prefix: prefix)

        var info = H5G_info_t()
        try HDF5Library.check(H5Gget_info(group, &info), path, prefix)
        // Creation order exists only where the file tracks it; probing for it fails quietly otherwise.
        var order = H5_INDEX_CRT_ORDER
        if info.nlinks > 0, H5Lget_name_by_idx(group, ".", order, H5_ITER_INC, 0, nil, 0, rnn_h5p_default()) < 0 {
            _ = HDF5Library.drainErrors()
            order = H5_INDEX_NAME
        }
        for index in 0..<info.nlinks {
            let length = H5Lget_name_by_idx(group, ".", order, H5_ITER_INC, index, nil, 0, rnn_h5p_default())
            guard length >= 0 else { throw fail(prefix.isEmpty ? nil : prefix, .hdf5(HDF5Library.drainErrors())) }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            guard H5Lget_name_by_idx(group, ".", order, H5_ITER_INC, index, &buffer, buffer.count, rnn_h5p_default()) >= 0 else {
                throw fail(prefix.isEmpty ? nil : prefix, .hdf5(HDF5Library.drainErrors()))
            }
            let name = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let key = prefix.isEmpty ? name : "\(prefix).\(name)"
            switch rnn_h5_link_kind(group, buffer) {
            case 0: break
            case 1: throw fail(key, .refusedLink("soft link (only datasets and groups stored in the file are read)"))
            case 2: throw fail(key, .refusedLink("external link to another file"))
            case 3: throw fail(key, .refusedLink("user-defined link"))
            default: throw fail(key, .hdf5(HDF5Library.drainErrors()))
            }
            let object = try HDF5Library.check(H5Oopen(group, buffer, rnn_h5p_default()), path, key)
            defer { H5Oclose(object) }
            switch H5Iget_type(object) {
            case H5I_GROUP: try walk(object, prefix: key)
            case H5I_DATASET: try readDataset(object, name: key)
            default: continue  // a named datatype: not data
            }
        }
    }

    private mutating func readDataset(_ dataset: hid_t, name: String) throws {
        let creation = try HDF5Library.check(H5Dget_create_plist(dataset), path, name)
        defer { H5Pclose(creation) }
        if H5Pget_layout(creation) == H5D_VIRTUAL { throw fail(name, .refusedLink("virtual dataset (its data lives in other files)")) }
        if H5Pget_external_count(creation) > 0 { throw fail(name, .refusedLink("dataset stored in external raw files")) }

        let fileType = try HDF5Library.check(H5Dget_type(dataset), path, name)
        defer { H5Tclose(fileType) }
        let dtype: DType
        switch HDF5Types.dtype(of: fileType) {
        case .success(let value): dtype = value
        case .failure(let type): throw fail(name, .unsupportedDType(type.text))
        }

        let space = try HDF5Library.check(H5Dget_space(dataset), path, name)
        defer { H5Sclose(space) }
        var shape: [Int] = []
        switch H5Sget_simple_extent_type(space) {
        case H5S_SCALAR: break
        case H5S_SIMPLE:
            let rank = H5Sget_simple_extent_ndims(space)
            guard rank >= 0, rank <= 32 else { throw fail(name, .malformed("dataset rank \(rank) is out of range")) }
            var dimensions = [hsize_t](repeating: 0, count: Int(rank))
            guard H5Sget_simple_extent_dims(space, &dimensions, nil) >= 0 else {
                throw fail(name, .hdf5(HDF5Library.drainErrors()))
            }
            for dimension in dimensions {
                guard dimension <= UInt64(Int.max) else { throw fail(name, .invalidShape([Int](repeating: -1, count: Int(rank)))) }
                shape.append(Int(dimension))
            }
        default: throw fail(name, .unsupportedDType("dataset with a null dataspace (no shape)"))
        }
        guard let byteCount = Tensor.byteCount(of: shape, dtype: dtype), byteCount <= Int(Int32.max) * 64 else {
            throw fail(name, .invalidShape(shape))
        }
        // A few stored bytes cannot honestly become gigabytes: gzip expands at most ~1032:1, and an unwritten
        // dataset is all fill value. Refuse before allocating what a hostile header declares.
        let stored = Int(clamping: H5Dget_storage_size(dataset))
        if byteCount > Self.unboundedAllowance, byteCount / 1100 > stored {
            throw fail(name, .tooLarge("dataset declares \(byteCount) bytes but stores only \(stored)"))
        }
        if let offset = try inPlaceOffset(
            dataset, creation: creation, fileType: fileType, dtype: dtype, byteCount: byteCount, stored: stored, name: name
        ) {
            return try add(.located(dtype: dtype, shape: shape, offset: offset), name: name)
        }
        var tensor = try Tensor(zeros: dtype, shape: shape)
        if byteCount > 0 {
            let memoryType = HDF5Types.memoryType(for: dtype)
            defer { H5Tclose(memoryType) }
            let status = tensor.withUnsafeMutableBytes { buffer in
                H5Dread(dataset, memoryType, rnn_h5s_all(), rnn_h5s_all(), rnn_h5p_default(), buffer.baseAddress)
            }
            try HDF5Library.check(status, path, name)
            if dtype == .bool, tensor.withUnsafeBytes({ $0.contains { $0 > 1 } }) {
                throw fail(name, .malformed("bool data holds a value other than FALSE or TRUE"))
            }
        }
        try add(.read(tensor), name: name)
    }

    private mutating func add(_ dataset: Dataset, name: String) throws {
        guard datasets.updateValue(dataset, forKey: name) == nil else { throw fail(nil, .duplicateName(name)) }
    }

    /// The file offset of a dataset's bytes when they are exactly the tensor's: contiguous layout, allocated,
    /// storing `byteCount` bytes, in a file type equal to the memory type (so no conversion; bool is left out
    /// because its values must be checked). Nil when the dataset must go through `H5Dread`.
    private func inPlaceOffset(
        _ dataset: hid_t, creation: hid_t, fileType: hid_t, dtype: DType, byteCount: Int, stored: Int, name: String
    ) throws -> Int? {
        guard byteCount > 0, stored == byteCount, dtype != .bool, H5Pget_layout(creation) == H5D_CONTIGUOUS,
              H5Pget_nfilters(creation) == 0
        else { return nil }
        let memoryType = HDF5Types.memoryType(for: dtype)
        defer { H5Tclose(memoryType) }
        let equal = H5Tequal(fileType, memoryType)
        guard equal >= 0 else { throw fail(name, .hdf5(HDF5Library.drainErrors())) }
        // An absolute offset (libhdf5 adds the user block); HADDR_UNDEF when no storage is allocated.
        let offset = H5Dget_offset(dataset)
        guard equal > 0, offset != rnn_haddr_undef(), offset <= UInt64(Int.max - byteCount) else {
            _ = HDF5Library.drainErrors()
            return nil
        }
        return Int(offset)
    }

    /// Root attributes that hold one string (variable or fixed length) become metadata; others are ignored.
    private mutating func readMetadata(_ root: hid_t) throws {
        let count = rnn_h5_attribute_count(root)
        guard count >= 0 else { throw fail(nil, .hdf5(HDF5Library.drainErrors())) }
        var order = H5_INDEX_CRT_ORDER
        if count > 0 {
            let probe = H5Aopen_by_idx(root, ".", order, H5_ITER_INC, 0, rnn_h5p_default(), rnn_h5p_default())
            if probe < 0 { _ = HDF5Library.drainErrors(); order = H5_INDEX_NAME } else { H5Aclose(probe) }
        }
        for index in 0..<hsize_t(count) {
            let attribute = try HDF5Library.check(
                H5Aopen_by_idx(root, ".", order, H5_ITER_INC, index, rnn_h5p_default(), rnn_h5p_default()), path)
            defer { H5Aclose(attribute) }
            let nameLength = H5Aget_name(attribute, 0, nil)
            guard nameLength >= 0 else { throw fail(nil, .hdf5(HDF5Library.drainErrors())) }
            var nameBuffer = [CChar](repeating: 0, count: nameLength + 1)
            H5Aget_name(attribute, nameBuffer.count, &nameBuffer)
            let name = String(decoding: nameBuffer.prefix(nameLength).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let value = try readString(attribute, name: name) { metadata[name] = value }
        }
    }

    /// The attributes through which Keras files record what their datasets are: `layer_names` and `weight_names`
    /// (the weights' order, which datasets listed by name lose; Keras 2 splits a long one into `weight_names0`,
    /// `weight_names1`, …) and `name` (the layer's name in a `.weights.h5`). Each becomes metadata
    /// `<group>@<attribute>` holding a JSON array of its strings (`KerasFile` reads and removes them).
    private mutating func readKerasAttributes(_ group: hid_t, prefix: String) throws {
        let count = rnn_h5_attribute_count(group)
        guard count > 0 else { return }
        for index in 0..<hsize_t(min(count, 1024)) {
            let attribute = try HDF5Library.check(
                H5Aopen_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, rnn_h5p_default(), rnn_h5p_default()), path, prefix)
            defer { H5Aclose(attribute) }
            let nameLength = H5Aget_name(attribute, 0, nil)
            guard nameLength >= 0, nameLength < 256 else { continue }
            var nameBuffer = [CChar](repeating: 0, count: nameLength + 1)
            H5Aget_name(attribute, nameBuffer.count, &nameBuffer)
            let name = String(decoding: nameBuffer.prefix(nameLength).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let base = name.prefix { !$0.isNumber }
            guard ["layer_names", "weight_names", "name"].contains(base), name.dropFirst(base.count).allSatisfy({ $0.isASCII && $0.isNumber }) else { continue }
            guard let strings = try readStrings(attribute, name: prefix.isEmpty ? name : "\(prefix)@\(name)") else { continue }
            metadata["\(prefix)@\(name)"] = "[" + strings.map { String(decoding: SafeTensorsJSON.quoted($0), as: UTF8.self) }.joined(separator: ",") + "]"
        }
    }

    /// Keras attributes hold at most this many strings (a layer's weights, a model's layers) of at most
    /// `maximumStringBytes` each.
    static let maximumStrings = 100_000
    static let maximumStringBytes = 1 << 16

    /// The strings of a string attribute of rank 0 or 1 (variable or fixed length), nil for any other attribute.
    private func readStrings(_ attribute: hid_t, name: String) throws -> [String]? {
        let type = try HDF5Library.check(H5Aget_type(attribute), path, name)
        defer { H5Tclose(type) }
        guard H5Tget_class(type) == H5T_STRING else { return nil }
        let space = try HDF5Library.check(H5Aget_space(attribute), path, name)
        defer { H5Sclose(space) }
        guard H5Sget_simple_extent_ndims(space) <= 1 else { return nil }
        let points = Int(H5Sget_simple_extent_npoints(space))
        guard points >= 0 else { throw fail(name, .hdf5(HDF5Library.drainErrors())) }
        guard points <= Self.maximumStrings else {
            throw fail(name, .tooLarge("attribute holds \(points) strings (at most \(Self.maximumStrings) are read)"))
        }
        guard points > 0 else { return [] }
        let memoryType = H5Tcopy(rnn_h5t_c_s1())
        defer { H5Tclose(memoryType) }
        H5Tset_cset(memoryType, H5Tget_cset(type))
        var strings: [String] = []
        if H5Tis_variable_str(type) > 0 {
            H5Tset_size(memoryType, rnn_h5t_variable())
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: points)
            try HDF5Library.check(H5Aread(attribute, memoryType, &pointers), path, name)
            defer { for pointer in pointers { if let pointer { H5free_memory(pointer) } } }
            for pointer in pointers {
                let length = pointer.map { strnlen($0, Self.maximumStringBytes + 1) } ?? 0
                guard length <= Self.maximumStringBytes else {
                    throw fail(name, .tooLarge("attribute string longer than \(Self.maximumStringBytes) bytes"))
                }
                strings.append(pointer.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } ?? "")
            }
            return strings
        }
        let size = H5Tget_size(type)
        guard size > 0, size <= Self.maximumStringBytes else {
            throw fail(name, .tooLarge("attribute strings of \(size) bytes (at most \(Self.maximumStringBytes))"))
        }
        guard size * points <= 16 << 20 else { throw fail(name, .tooLarge("attribute of \(size * points) bytes")) }
        H5Tset_size(memoryType, size)
        H5Tset_strpad(memoryType, H5T_STR_NULLPAD)
        var bytes = [UInt8](repeating: 0, count: size * points)
        try HDF5Library.check(H5Aread(attribute, memoryType, &bytes), path, name)
        let spacePadded = H5Tget_strpad(type) == H5T_STR_SPACEPAD
        for index in 0..<points {
            var item = bytes[(index * size)..<((index + 1) * size)]
            if let end = item.firstIndex(of: 0) { item = item[..<end] }
            if spacePadded { while item.last == 0x20 { item.removeLast() } }
            strings.append(String(decoding: item, as: UTF8.self))
        }
        return strings
    }

    private func readString(_ attribute: hid_t, name: String) throws -> String? {
        let type = try HDF5Library.check(H5Aget_type(attribute), path, name)
        defer { H5Tclose(type) }
        guard H5Tget_class(type) == H5T_STRING else { return nil }
        let space = try HDF5Library.check(H5Aget_space(attribute), path, name)
        defer { H5Sclose(space) }
        guard H5Sget_simple_extent_npoints(space) == 1 else { return nil }
        let memoryType = H5Tcopy(rnn_h5t_c_s1())
        defer { H5Tclose(memoryType) }
        H5Tset_cset(memoryType, H5Tget_cset(type))
        if H5Tis_variable_str(type) > 0 {
            H5Tset_size(memoryType, rnn_h5t_variable())
            var pointer: UnsafeMutablePointer<CChar>?
            try HDF5Library.check(H5Aread(attribute, memoryType, &pointer), path, name)
            defer { if let pointer { H5free_memory(pointer) } }
            return pointer.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: strlen($0)), as: UTF8.self) } ?? ""
        }
        let size = H5Tget_size(type)
        guard size > 0, size <= 1 << 20 else { return nil }
        H5Tset_size(memoryType, size)
        H5Tset_strpad(memoryType, H5T_STR_NULLPAD)
        var bytes = [UInt8](repeating: 0, count: size)
        try HDF5Library.check(H5Aread(attribute, memoryType, &bytes), path, name)
        if let end = bytes.firstIndex(of: 0) { bytes.removeSubrange(end...) }
        if H5Tget_strpad(type) == H5T_STR_SPACEPAD { while bytes.last == 0x20 { bytes.removeLast() } }
        return String(decoding: bytes, as: UTF8.self)
    }
}
