// The machine's ceiling for float32 multiply-adds: fused multiply-adds on the widest vectors the compiler targets
// (build with -march=native), independent chains per thread so that latency never limits, on N threads at once.
// tools/bench_forward.py builds and runs it to say how close each side gets to what the cores can do.
//
// Usage: fma_peak [threads]   prints the best of 5 repetitions in GMAC/s (multiply-adds per second, ÷ 1e9), summed
// over the threads.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef float vec __attribute__((vector_size(64)));  // 16 floats: one zmm register with AVX-512, two ymm with AVX2

// Enough independent chains that latency never limits, few enough that they stay in registers: 24 of 32 zmm with
// AVX-512; with AVX2 each vector takes two of the 16 ymm registers, so 6 (12 registers; 24 would spill to memory
// and measure the stores, as this file did until 2026-12-04: 14.7 GMAC/s a core on an AMD EPYC whose kernels run
// at 36).
#ifdef __AVX512F__
enum { chains = 24, iterations = 4000000 };
#else
enum { chains = 6, iterations = 16000000 };
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

struct run {
    double seconds;
    float sink;
};

static void *run(void *argument) {
    struct run *result = argument;
    vec a[chains], x, y;
    for (int i = 0; i < chains; i++) a[i] = (vec){} + (float)i * 1e-3f;
    x = (vec){} + 0.999f;
    y = (vec){} + 1e-6f;
    const double start = now();
    for (long n = 0; n < iterations; n++) {
        for (int i = 0; i < chains; i++) a[i] = __builtin_elementwise_fma(a[i], x, y);
    }
    result->seconds = now() - start;
    float sink = 0;
    for (int i = 0; i < chains; i++) sink += a[i][0];
    result->sink = sink;
    return NULL;
}

int main(int argc, char **argv) {
    const int threads = argc > 1 ? atoi(argv[1]) : 1;
    if (threads < 1 || threads > 64) {
        fprintf(stderr, "fma_peak: threads must be 1 to 64\n");
        return 64;
    }
    double best = 0, sink = 0;
    for (int repetition = 0; repetition < 5; repetition++) {
        pthread_t ids[64];
        struct run results[64];
        for (int t = 1; t < threads; t++) pthread_create(&ids[t], NULL, run, &results[t]);
        run(&results[0]);
        double total = 0;
        for (int t = 0; t < threads; t++) {
            if (t > 0) pthread_join(ids[t], NULL);
            total += (double)iterations * chains * 16 / results[t].seconds / 1e9;
            sink += results[t].sink;
        }
        if (total > best) best = total;
    }
    printf("%.1f\n", best);
    return sink == 12345.0 ? 1 : 0;  // keeps the sums alive
}
