// Picks the kernels for this CPU once, and packs weights into the layout they read.
#include "kernels_internal.h"

static int rk_level(void) {
    static int level = -1;  // a benign race: every thread computes the same value
    if (level < 0) {
        int found = RK_KERNELS_GENERIC;
#if defined(__x86_64__)
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw")) {
            found = RK_KERNELS_AVX512;
        } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
            found = RK_KERNELS_AVX2;
        }
#endif
        level = found;
    }
    return level;
}

/// The requested kernels if the CPU has them, else the best it has.
static int rk_choose(int kernels) {
    const int best = rk_level();
    return kernels < 0 || kernels > best ? best : kernels;
}

const char *rk_instruction_set(void) {
    switch (rk_level()) {
    case RK_KERNELS_AVX512: return "avx512";
    case RK_KERNELS_AVX2: return "avx2";
    default: return "generic";
    }
}

void rk_sequence_run_f32(const rk_sequence_f32 *sequence, int member, rk_schedule *schedule, int kernels) {
#if defined(__x86_64__)
    switch (rk_choose(kernels)) {
    case RK_KERNELS_AVX512: rk_sequence_run_f32_avx512(sequence, member, schedule); return;
    case RK_KERNELS_AVX2: rk_sequence_run_f32_avx2(sequence, member, schedule); return;
    }
#else
    (void)kernels;
#endif
    rk_sequence_run_f32_generic(sequence, member, schedule);
}

void rk_sequence_run_f64(const rk_sequence_f64 *sequence, int member, rk_schedule *schedule, int kernels) {
#if defined(__x86_64__)
    switch (rk_choose(kernels)) {
    case RK_KERNELS_AVX512: rk_sequence_run_f64_avx512(sequence, member, schedule); return;
    case RK_KERNELS_AVX2: rk_sequence_run_f64_avx2(sequence, member, schedule); return;
    }
#else
    (void)kernels;
#endif
    rk_sequence_run_f64_generic(sequence, member, schedule);
}

#if defined(__x86_64__)
#define RK_PROJECT(T, SFX)                                                                                    \
    void rk_project_##SFX(const T *x, long ldx, int rows, int columns, const T *w, int units, T *out, long ldout,  \
                          int kernels) {                                                                      \
        switch (rk_choose(kernels)) {                                                                         \
        case RK_KERNELS_AVX512: rk_project_##SFX##_avx512(x, ldx, rows, columns, w, units, out, ldout); return; \
        case RK_KERNELS_AVX2: rk_project_##SFX##_avx2(x, ldx, rows, columns, w, units, out, ldout); return;     \
        }                                                                                                     \
        rk_project_##SFX##_generic(x, ldx, rows, columns, w, units, out, ldout);                              \
    }
#else
#define RK_PROJECT(T, SFX)                                                                                    \
    void rk_project_##SFX(const T *x, long ldx, int rows, int columns, const T *w, int units, T *out, long ldout,  \
                          int kernels) {                                                                      \
        (void)kernels;                                                                                        \
        rk_project_##SFX##_generic(x, ldx, rows, columns, w, units, out, ldout);                              \
    }
#endif
RK_PROJECT(float, f32)
RK_PROJECT(double, f64)

#define RK_PACK(T, SFX, VW)                                                                                   \
    size_t rk_packed_count_##SFX(int gates, int units, int columns) {                                      \
        return (size_t)((units + VW - 1) / VW) * (size_t)columns * (size_t)gates * VW;                      \
    }                                                                                                       \
    void rk_pack_##SFX(const T *w, int gates, int units, int columns, T *packed) {                          \
        const int blocks = (units + VW - 1) / VW;                                                           \
        for (int block = 0; block < blocks; block++)                                                        \
            for (int k = 0; k < columns; k++)                                                               \
                for (int g = 0; g < gates; g++)                                                             \
                    for (int lane = 0; lane < VW; lane++) {                                                 \
                        const int unit = block * VW + lane;                                                 \
                        packed[(((size_t)block * columns + k) * gates + g) * VW + lane] =                   \
                            (w && unit < units) ? w[((size_t)g * units + unit) * columns + k] : (T)0;       \
                    }                                                                                       \
    }

RK_PACK(float, f32, RK_BLOCK_F32)
RK_PACK(double, f64, RK_BLOCK_F64)
