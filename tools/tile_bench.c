// Times the recurrent kernels' work for one step on one core, outside the forward pass: all unit blocks of a
// batch of B rows, tile by tile, exactly as a step's phase runs them (rk_group), with the AVX-512 kernels.
// For work on the kernels: it separates the multiply-add loop ("linear": the sums only) from the gate arithmetic
// (the other modes), and memory effects (weights larger than L2) from both, without threads or GEMMs.
//
//   clang -O3 -I Sources/CRecurrentKernels -I Sources/CRecurrentKernels/include tools/tile_bench.c \
//       Sources/CRecurrentKernels/parallel.c -lm -lpthread -o /tmp/tile_bench
//   /tmp/tile_bench B H K lstm|gru|tanh|linear [noprefetch]
// (add -DTILE_BENCH_AVX2 to time the AVX2 kernels instead)
//
// K is the width of h (H for a cell); "linear" runs the LSTM's four gates' sums without their arithmetic.
// `noprefetch` turns off the tiles' prefetch of the next group's weights (on when they exceed 1 MB). Prints the
// best of 15 trials per step, its multiply-add rate and that rate's share of one core's peak (tools/fma_peak.c;
// pass it as PEAK=GMAC/s in the environment, 85.7 by default, this machine's). To compare two versions of the
// kernels, build this file against each one's Sources/CRecurrentKernels (e.g. a `git worktree` of the other).
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// The prefetch's threshold (kernel_body.h), a variable here so that `noprefetch` can turn it off; then the
// AVX-512 kernels themselves, their static functions included.
static size_t prefetch_bytes = 1 << 20;
#define RK_PREFETCH_BYTES prefetch_bytes
#ifdef TILE_BENCH_AVX2  /* -DTILE_BENCH_AVX2: the AVX2 kernels instead */
#include "kernels_avx2.c"
#define TILE_BENCH_ISA "avx2"
#else
#include "kernels_avx512.c"
#define TILE_BENCH_ISA "avx512f"
#endif

#if !defined(__x86_64__)
int main(void) {
    fprintf(stderr, "tile_bench: x86-64 only (it times the AVX-512 kernels)\n");
    return 1;
}
#else
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *filled(size_t count, float scale) {
    float *p = aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "tile_bench: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < count; i++) p[i] = ((float)rand() / (float)RAND_MAX - 0.5f) * scale;
    return p;
}

int main(int argc, char **argv) {
    if (argc < 5 || !__builtin_cpu_supports(TILE_BENCH_ISA)) {
        fprintf(stderr, "usage: tile_bench B H K lstm|gru|tanh|linear [noprefetch]  (needs " TILE_BENCH_ISA ")\n");
        return 2;
    }
    const int B = atoi(argv[1]), H = atoi(argv[2]), K = atoi(argv[3]);
    const char *name = argv[4];
    const int mode = !strcmp(name, "lstm") ? RK_MODE_LSTM : !strcmp(name, "gru") ? RK_MODE_GRU
                     : !strcmp(name, "tanh") ? RK_MODE_RNN_TANH : RK_MODE_LINEAR;
    const int G = mode == RK_MODE_GRU ? 3 : mode == RK_MODE_RNN_TANH ? 1 : 4;
    if (B < 1 || H < 16 || K < 1 || H % 16 != 0) {
        fprintf(stderr, "tile_bench: B ≥ 1, K ≥ 1 and H a multiple of 16, please\n");
        return 2;
    }
    const int blocks = H / 16;
    float *w = filled((size_t)blocks * K * G * 16, 0.01f), *bias = filled((size_t)blocks * G * 16, 0.02f);
    float *h = filled((size_t)B * K, 1.0f), *xproj = filled((size_t)B * G * H + 16, 1.0f);
    float *dst = filled((size_t)B * H, 0.0f), *c = filled((size_t)B * H, 0.0f);

    rk_tile_args_f32 a = {0};
    a.mode = mode;
    a.gates = G;
    a.columns = K;
    a.w = w;
    a.bias_hh = bias;
    a.bias_ih = bias;
    a.h = h;
    a.ldh = K;
    a.hprev = dst;  // GRU's blend reads the state before the step
    a.ldhp = H;
    a.xrow = mode == RK_MODE_LINEAR ? 0 : xproj;
    a.ldx = (long)G * H;
    a.units = H;
    a.hidden = H;
    a.dst = dst;
    a.lddst = H;
    a.c = c;
    a.ldc = H;
    if (argc >= 6 && !strcmp(argv[5], "noprefetch")) prefetch_bytes = SIZE_MAX;
    const int prefetch = (size_t)blocks * K * G * 16 * sizeof(float) > prefetch_bytes;

    // The groups of a phase done by one thread: `wide` blocks at a time, single blocks at the end (rk_items).
    const int tallest = rk_rows_per_tile_f32(G, B), wide = rk_blocks_per_tile_f32(G, tallest);
    const double work = (double)B * H * G * K;
    const int repeats = (int)(2e8 / work) + 1;
    double best = 1e30;
    for (int trial = 0; trial < 15; trial++) {
        const double start = now();
        for (int r = 0; r < repeats; r++) {
            for (int block = 0; block < blocks;) {
                const int nb = blocks - block >= wide ? wide : 1;
                rk_group_f32(&a, B, block, nb, tallest);
                block += nb;
            }
        }
        const double t = (now() - start) / repeats;
        if (t < best) best = t;
    }
    const char *peak_text = getenv("PEAK");
    const double peak = peak_text ? atof(peak_text) : 85.7;
    printf("B%d H%d K%d %s%s: %.2f us/step, %.1f GMAC/s (%.0f%% of %.1f)\n", B, H, K, name,
           prefetch ? " prefetch" : "", best * 1e6, work / best * 1e-9, work / best * 1e-9 / peak * 100, peak);
    return 0;
}
#endif
