#ifndef RNN_COPENBLAS_SHIM_H
#define RNN_COPENBLAS_SHIM_H
// OpenBLAS's CBLAS interface (Debian: libopenblas-dev, pkg-config name "openblas"); its cblas.h also declares
// openblas_set_num_threads, which the forward pass uses to keep OpenBLAS single-threaded (see
// RNNKit/Forward/BLAS.swift for why).
#include <cblas.h>
#endif
