// The kernels for AVX-512 CPUs (each 64-byte vector is one zmm register); used only when the CPU reports
// AVX-512F, so the package still builds and runs everywhere else.
#include <math.h>
#include "kernels_internal.h"

#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma"))), apply_to = function)
#define RK_ISA avx512
#define RK_HAS_RCP14 1
#define RK_HAS_FMA 1
#define RK_MAX_ROWS 6
#include "kernels_isa.h"
#pragma clang attribute pop
#endif
