// Reads one HDF5 file for a parent process that must survive libhdf5 crashing or hanging on it.
// See HDF5Format.readIsolated; arguments: FILE RESULT MEMORY_BYTES CPU_SECONDS.
import Foundation
import TensorIO

exit(HDF5Worker.main(Array(CommandLine.arguments.dropFirst())))
