// The kernels for one instruction set. Included once by each kernels_<isa>.c, which first defines
//   RK_ISA        the suffix of the entry points (avx512, avx2, generic)
//   RK_HAS_FMA    1 when fused multiply-add instructions exist
//   RK_MAX_ROWS   the tallest tile (batch rows per tile): fewer where vector registers are few
// and sets the target attribute for every function that follows with `#pragma clang attribute push`.
//
// The code is written with clang's vector extensions (64-byte vectors: 16 floats or 8 doubles), which the
// compiler lowers to one zmm register on AVX-512, two ymm on AVX2 and four xmm on baseline x86-64.

// 64-byte vectors passed between static functions that are all inlined: the ABI note does not apply.
#pragma clang diagnostic ignored "-Wpsabi"

#define RK_CAT_(a, b) a##b
#define RK_CAT(a, b) RK_CAT_(a, b)

typedef float rk_vf __attribute__((vector_size(64)));
typedef int rk_vfi __attribute__((vector_size(64)));
typedef float rk_vf_u __attribute__((vector_size(64), aligned(4)));
typedef double rk_vd __attribute__((vector_size(64)));
typedef long long rk_vdi __attribute__((vector_size(64)));
typedef double rk_vd_u __attribute__((vector_size(64), aligned(8)));

static inline rk_vf rk_select_f32(rk_vfi mask, rk_vf a, rk_vf b) {
    return (rk_vf)((mask & (rk_vfi)a) | (~mask & (rk_vfi)b));
}
static inline rk_vd rk_select_f64(rk_vdi mask, rk_vd a, rk_vd b) {
    return (rk_vd)((mask & (rk_vdi)a) | (~mask & (rk_vdi)b));
}

#if RK_HAS_FMA
static inline rk_vf rk_fma_f32(rk_vf a, rk_vf b, rk_vf c) { return __builtin_elementwise_fma(a, b, c); }
static inline rk_vd rk_fma_f64(rk_vd a, rk_vd b, rk_vd c) { return __builtin_elementwise_fma(a, b, c); }
#else
static inline rk_vf rk_fma_f32(rk_vf a, rk_vf b, rk_vf c) { return a * b + c; }
static inline rk_vd rk_fma_f64(rk_vd a, rk_vd b, rk_vd c) { return a * b + c; }
#endif

// e^x for float32 (Cephes expf: x = n·ln2 + r, |r| ≤ ln2/2, degree-6 polynomial; within 1 ulp). The argument is
// clamped to [-87, 88] so that 2^n stays a normal float: e^-87 and e^88 stand for 0 and infinity, which only
// matters through 1/(1 + e^-x) and 2/(e^2x + 1), where the difference is below 1e-37. NaN stays NaN.
static inline rk_vf rk_exp_f32(rk_vf x) {
    x = rk_select_f32(x > 88.0f, (rk_vf){} + 88.0f, x);
    x = rk_select_f32(x < -87.0f, (rk_vf){} - 87.0f, x);
    rk_vf n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest (1.5·2^23 trick)
    rk_vf r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    rk_vf p = (rk_vf){} + 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    rk_vf y = p * (r * r) + r + 1.0f;
    rk_vfi scale = (__builtin_convertvector(n, rk_vfi) + 127) << 23;
    return y * (rk_vf)scale;
}

// 1/d for float32 vectors. AVX-512 has a 14-bit reciprocal estimate: one Newton step makes it good to ~1 ulp,
// in three FMA-port operations instead of a division that occupies its unit for ~10 cycles (the LSTM epilogue
// divides five times per element). d is always finite here (exp is clamped).
static inline rk_vf rk_reciprocal_f32(rk_vf d) {
#if RK_HAS_RCP14
    rk_vf r = __builtin_ia32_rcp14ps512_mask(d, (rk_vf){}, (unsigned short)0xffff);
    return r + r * (1.0f - d * r);
#else
    return 1.0f / d;
#endif
}

// tanh for float32, as Cephes tanhf: an odd polynomial below |x| = 0.625, else 1 − 2/(e^2|x| + 1) with the
// sign put back (within 3 ulp; torch's vectorised Sleef tanhf is within 1).
static inline rk_vf rk_tanh_f32(rk_vf x) {
    rk_vfi sign = (rk_vfi)x & (int)0x80000000;
    rk_vf a = (rk_vf)((rk_vfi)x & 0x7fffffff);
    rk_vf z = x * x;
    rk_vf p = (rk_vf){} - 5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    rk_vf small = p * z * a + a;
    rk_vf e = rk_exp_f32(a + a);
    rk_vf big = 1.0f - 2.0f * rk_reciprocal_f32(e + 1.0f);
    return (rk_vf)((rk_vfi)rk_select_f32(a < 0.625f, small, big) | sign);  // both are ≥ 0: put the sign back
}

static inline rk_vf rk_sigmoid_f32(rk_vf x) { return rk_reciprocal_f32(1.0f + rk_exp_f32(-x)); }

#ifdef RK_EXACT_ACTIVATIONS
// For measuring what exactness costs (BENCHMARKS.md; never the default build): float32 tanh and sigmoid through
// the C library in float64, lane by lane, rounded once to float32 (correctly rounded but for rare ties).
static inline rk_vf rk_tanh_exact_f32(rk_vf x) {
    float v[16];
    __builtin_memcpy(v, &x, sizeof v);
    for (int i = 0; i < 16; i++) v[i] = (float)tanh((double)v[i]);
    __builtin_memcpy(&x, v, sizeof v);
    return x;
}
static inline rk_vf rk_sigmoid_exact_f32(rk_vf x) {
    float v[16];
    __builtin_memcpy(v, &x, sizeof v);
    for (int i = 0; i < 16; i++) v[i] = (float)(1.0 / (1.0 + exp(-(double)v[i])));
    __builtin_memcpy(&x, v, sizeof v);
    return x;
}
#define rk_tanh_f32 rk_tanh_exact_f32
#define rk_sigmoid_f32 rk_sigmoid_exact_f32
#endif

// float64 keeps the C library's tanh and exp, lane by lane: the float64 tolerance (1e-12 against PyTorch) leaves
// no room to trade accuracy, and no target asks float64 to be fast.
static inline rk_vd rk_tanh_f64(rk_vd x) {
    double v[8];
    __builtin_memcpy(v, &x, sizeof v);
    for (int i = 0; i < 8; i++) v[i] = tanh(v[i]);
    __builtin_memcpy(&x, v, sizeof v);
    return x;
}
static inline rk_vd rk_sigmoid_f64(rk_vd x) {
    double v[8];
    __builtin_memcpy(v, &x, sizeof v);
    for (int i = 0; i < 8; i++) v[i] = 1.0 / (1.0 + exp(-v[i]));
    __builtin_memcpy(&x, v, sizeof v);
    return x;
}

#define RK_T float
#define RK_V rk_vf
#define RK_VI rk_vfi
#define RK_VU rk_vf_u
#define RK_VW 16
#define RK_SFX f32
#include "kernel_body.h"
#undef RK_T
#undef RK_V
#undef RK_VI
#undef RK_VU
#undef RK_VW
#undef RK_SFX

#define RK_T double
#define RK_V rk_vd
#define RK_VI rk_vdi
#define RK_VU rk_vd_u
#define RK_VW 8
#define RK_SFX f64
#include "kernel_body.h"
