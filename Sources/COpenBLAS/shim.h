#ifndef RNN_COPENBLAS_SHIM_H
#define RNN_COPENBLAS_SHIM_H
// OpenBLAS's CBLAS interface (Debian: libopenblas-dev, pkg-config name "openblas"), with openblas_get_num_threads
// and openblas_set_num_threads: the tests set and read them as a host app would (RNNKit itself links no BLAS).
#include <cblas.h>
#endif
