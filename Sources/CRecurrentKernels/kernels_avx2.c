// The kernels for AVX2 + FMA CPUs without AVX-512 (each 64-byte vector is two ymm registers, so tiles stay small: RK_NARROW).
#include <math.h>
#include "kernels_internal.h"

#if defined(__x86_64__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define RK_ISA avx2
#define RK_HAS_RCP14 0
#define RK_HAS_FMA 1
#define RK_MAX_ROWS 2
#define RK_NARROW 1  /* 16 ymm registers: tiles of at most 6 accumulators (kernel_body.h) */
#include "kernels_isa.h"
#pragma clang attribute pop
#endif
