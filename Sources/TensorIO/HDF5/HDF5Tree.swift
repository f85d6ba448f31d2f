import CHDF5
import Foundation

/// Groups with string attributes and datasets at given paths: what Keras's weights files hold
/// (`/layers/lstm/cell/vars/0`, a `name` attribute on each `vars` group), written as they are listed.
package struct HDF5Tree {
    /// A group at `path` (`layers/lstm/vars`); its parent is listed before it.
    package struct Group {
        package var path: String
        package var attributes: [(String, String)]
        package init(_ path: String, attributes: [(String, String)] = []) {
            self.path = path
            self.attributes = attributes
        }
    }

    package var groups: [Group] = []
    /// Datasets at paths whose folder is one of `groups` (or the root).
    package var datasets: [(path: String, tensor: Tensor)] = []

    package init() {}
}

extension HDF5Format {
    /// Writes `tree` to `url` atomically (a complete new file, or the old one untouched).
    package static func write(_ tree: HDF5Tree, to url: URL, replaceExisting: Bool) throws {
        let path = url.filePath
        try AtomicOutput.write(to: path, replacing: replaceExisting) { (temporaryPath: String) in
            try HDF5Library.locked {
                let creation = fileCreation()
                defer { H5Pclose(creation) }
                let file = try HDF5Library.check(
                    FileSystemPath.withCString(temporaryPath) { H5Fcreate($0, rnn_h5f_acc_trunc(), creation, rnn_h5p_default()) }, path)
                try fill(file, with: tree, path: path)
            }
        }
    }

    /// The bytes of `tree` as an HDF5 file, made in memory (libhdf5's core driver, no file on disk); `name` stands
    /// for it in errors.
    package static func bytes(of tree: HDF5Tree, name: String) throws -> [UInt8] {
        try HDF5Library.locked {
            let access = H5Pcreate(rnn_h5p_file_access())
            defer { H5Pclose(access) }
            try HDF5Library.check(H5Pset_fapl_core(access, 1 << 20, false), name)
            // The core driver keys open files by name: a unique one, so that no two writes meet.
            let creation = fileCreation()
            defer { H5Pclose(creation) }
            let file = try HDF5Library.check(H5Fcreate("memory-\(UUID().uuidString).h5", rnn_h5f_acc_trunc(), creation, access), name)
            var closed = false
            defer { if !closed { H5Fclose(file) } }
            try writeContents(file, tree, path: name)
            try HDF5Library.check(H5Fflush(file, H5F_SCOPE_GLOBAL), name)
            let size = H5Fget_file_image(file, nil, 0)
            guard size > 0 else { throw TensorFileError(path: name, problem: .hdf5(HDF5Library.drainErrors())) }
            var bytes = [UInt8](repeating: 0, count: size)
            guard H5Fget_file_image(file, &bytes, size) == size else { throw TensorFileError(path: name, problem: .hdf5(HDF5Library.drainErrors())) }
            closed = true
            try HDF5Library.check(H5Fclose(file), name)
            return bytes
        }
    }

    /// File creation properties that record no times, so that the same tree gives the same bytes.
    private static func fileCreation() -> hid_t {
        let creation = H5Pcreate(rnn_h5p_file_create())
        H5Pset_obj_track_times(creation, false)
        return creation
    }

    private static func fill(_ file: hid_t, with tree: HDF5Tree, path: String) throws {
        var closed = false
        defer { if !closed { H5Fclose(file) } }
        try writeContents(file, tree, path: path)
        try HDF5Library.check(H5Fflush(file, H5F_SCOPE_GLOBAL), path)
        closed = true
        try HDF5Library.check(H5Fclose(file), path)
    }

    private static func writeContents(_ file: hid_t, _ tree: HDF5Tree, path: String) throws {
        let writer = HDF5Writer(path: path, options: WriteOptions())
        var groups: [String: hid_t] = ["": file]
        defer { for (name, id) in groups where !name.isEmpty { H5Gclose(id) } }
        func parent(of item: String) throws -> (hid_t, String) {
            let parts = item.split(separator: "/").map(String.init)
            let folder = parts.dropLast().joined(separator: "/")
            guard let id = groups[folder], let leaf = parts.last else {
                throw TensorFileError(path: path, tensor: item, problem: .cannotStore("its group is not made before it"))
            }
            return (id, leaf)
        }
        for group in tree.groups {
            let (location, leaf) = try parent(of: group.path)
            let creation = H5Pcreate(rnn_h5p_group_create())
            defer { H5Pclose(creation) }
            H5Pset_obj_track_times(creation, false)
            let id = try HDF5Library.check(H5Gcreate2(location, leaf, rnn_h5p_default(), creation, rnn_h5p_default()), path, group.path)
            groups[group.path] = id
            for (key, value) in group.attributes { try writer.writeAttribute(key, value, on: id) }
        }
        for (item, tensor) in tree.datasets {
            let (location, leaf) = try parent(of: item)
            try writer.writeDataset(tensor, name: item, leaf: leaf, in: location)
        }
    }
}
