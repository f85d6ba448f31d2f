import CHDF5

/// Writes a state_dict as an HDF5 file; call only inside `HDF5Library.locked`.
///
/// One dataset per tensor in the order given (creation order is tracked, so h5py lists them in that order),
/// metadata as variable-length UTF-8 string attributes of the root group. With `compress`, datasets are
/// chunked (at most ~1 MiB a chunk) and filtered by shuffle then gzip level 4, as h5py's `compression="gzip"`.
/// Modification times are not recorded, so the same tensors give the same bytes.
struct HDF5Writer {
    let path: String
    let options: WriteOptions

    func write(_ stateDict: StateDict, toTemporary temporaryPath: String) throws {
        let creation = H5Pcreate(rnn_h5p_file_create())
        defer { H5Pclose(creation) }
        H5Pset_link_creation_order(creation, UInt32(H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED))
        H5Pset_attr_creation_order(creation, UInt32(H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED))
        // The root group's header would record its times (whole seconds) too: two writes a second apart differed.
        H5Pset_obj_track_times(creation, false)
        let file = try HDF5Library.check(
            FileSystemPath.withCString(temporaryPath) { H5Fcreate($0, rnn_h5f_acc_trunc(), creation, rnn_h5p_default()) }, path)
        var closed = false
        defer { if !closed { H5Fclose(file) } }

        var groups: [String: hid_t] = ["": file]
        defer { for (name, id) in groups where !name.isEmpty { H5Gclose(id) } }
        for (name, tensor) in stateDict.tensors {
            var location = file
            var leaf = name
            if options.nestedGroups {
                let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                guard !parts.contains(where: \.isEmpty) else {
                    throw fail(name, "a name with an empty part cannot be split into groups")
                }
                var groupPath = ""
                for part in parts.dropLast() {
                    let parent = groups[groupPath]!
                    groupPath = groupPath.isEmpty ? part : "\(groupPath).\(part)"
                    if let existing = groups[groupPath] { location = existing; continue }
                    let groupCreation = H5Pcreate(rnn_h5p_group_create())
                    defer { H5Pclose(groupCreation) }
                    H5Pset_link_creation_order(groupCreation, UInt32(H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED))
                    H5Pset_obj_track_times(groupCreation, false)
                    let group = H5Gcreate2(parent, part, rnn_h5p_default(), groupCreation, rnn_h5p_default())
                    guard group >= 0 else {
                        _ = HDF5Library.drainErrors()
                        throw fail(name, "\"\(groupPath)\" is both a tensor and a group")
                    }
                    groups[groupPath] = group
                    location = group
                }
                leaf = parts.last!
            }
            guard !leaf.contains("/"), leaf != ".", !leaf.isEmpty else {
                throw fail(name, "HDF5 names cannot contain \"/\" or be empty")
            }
            try writeDataset(tensor, name: name, leaf: leaf, in: location)
        }
        for (key, value) in stateDict.metadata { try writeAttribute(key, value, on: file) }
        try HDF5Library.check(H5Fflush(file, H5F_SCOPE_GLOBAL), path)
        closed = true
        try HDF5Library.check(H5Fclose(file), path)
    }

    private func fail(_ tensor: String?, _ detail: String) -> TensorFileError {
        TensorFileError(path: path, tensor: tensor, problem: .cannotStore(detail))
    }

    func writeDataset(_ tensor: Tensor, name: String, leaf: String, in location: hid_t) throws {
        let space: hid_t
        if tensor.shape.isEmpty {
            space = H5Screate(H5S_SCALAR)
        } else {
            let dimensions = tensor.shape.map { hsize_t($0) }
            space = H5Screate_simple(Int32(dimensions.count), dimensions, nil)
        }
        try HDF5Library.check(space, path, name)
        defer { H5Sclose(space) }
        let fileType = HDF5Types.fileType(for: tensor.dtype)
        defer { H5Tclose(fileType) }
        let memoryType = HDF5Types.memoryType(for: tensor.dtype)
        defer { H5Tclose(memoryType) }

        let creation = H5Pcreate(rnn_h5p_dataset_create())
        defer { H5Pclose(creation) }
        H5Pset_obj_track_times(creation, false)
        if options.compress, !tensor.shape.isEmpty, tensor.elementCount > 0 {
            let chunk = Self.chunkShape(tensor.shape, elementSize: tensor.dtype.byteSize).map { hsize_t($0) }
            try HDF5Library.check(H5Pset_chunk(creation, Int32(chunk.count), chunk), path, name)
            try HDF5Library.check(H5Pset_shuffle(creation), path, name)
            try HDF5Library.check(H5Pset_deflate(creation, 4), path, name)
        }
        let dataset = H5Dcreate2(location, leaf, fileType, space, rnn_h5p_default(), creation, rnn_h5p_default())
        guard dataset >= 0 else {
            _ = HDF5Library.drainErrors()
            throw fail(name, "cannot create dataset \"\(leaf)\" (the name is taken, or it clashes with a group)")
        }
        defer { H5Dclose(dataset) }
        if tensor.byteCount > 0 {
            let status = tensor.withUnsafeBytes {
                H5Dwrite(dataset, memoryType, rnn_h5s_all(), rnn_h5s_all(), rnn_h5p_default(), $0.baseAddress)
            }
            try HDF5Library.check(status, path, name)
        }
    }

    func writeAttribute(_ key: String, _ value: String, on file: hid_t) throws {
        let type = H5Tcopy(rnn_h5t_c_s1())
        defer { H5Tclose(type) }
        H5Tset_size(type, rnn_h5t_variable())
        H5Tset_cset(type, H5T_CSET_UTF8)
        let space = H5Screate(H5S_SCALAR)
        defer { H5Sclose(space) }
        let attribute = try HDF5Library.check(H5Acreate2(file, key, type, space, rnn_h5p_default(), rnn_h5p_default()), path)
        defer { H5Aclose(attribute) }
        try value.withCString { pointer in
            var p: UnsafePointer<CChar>? = pointer
            try HDF5Library.check(H5Awrite(attribute, type, &p), path)
        }
    }

    /// A chunk of at most ~1 MiB: the full shape with its largest dimensions halved until it fits.
    static func chunkShape(_ shape: [Int], elementSize: Int) -> [Int] {
        var chunk = shape.map { max($0, 1) }
        while chunk.reduce(elementSize, *) > 1 << 20, let largest = chunk.indices.max(by: { chunk[$0] < chunk[$1] }), chunk[largest] > 1 {
            chunk[largest] = (chunk[largest] + 1) / 2
        }
        return chunk
    }
}
