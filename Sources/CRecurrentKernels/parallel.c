// Two-thread parallelism for the forward pass: one resident worker thread, and a spinning barrier.
//
// The forward pass synchronises once or twice per time step, a few microseconds apart, so both the worker and the
// barrier spin (with the CPU's pause hint) before they sleep or yield: a futex wake-up would cost more than a step.
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "kernels_internal.h"

static inline void rk_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

// Spins before sleeping (worker) or yielding (waits): roughly 100–300 µs on current x86 CPUs.
#define RK_SPINS 4000

struct rk_barrier {
    _Alignas(64) atomic_int arrived;
    _Alignas(64) atomic_int phase;
    int threads;
};

rk_barrier *rk_barrier_create(int threads) {
    rk_barrier *barrier = aligned_alloc(64, sizeof(rk_barrier));
    if (!barrier) return NULL;
    atomic_init(&barrier->arrived, 0);
    atomic_init(&barrier->phase, 0);
    barrier->threads = threads;
    return barrier;
}

void rk_barrier_destroy(rk_barrier *barrier) { free(barrier); }

void rk_barrier_wait(rk_barrier *barrier) {
    const int phase = atomic_load_explicit(&barrier->phase, memory_order_acquire);
    if (atomic_fetch_add_explicit(&barrier->arrived, 1, memory_order_acq_rel) == barrier->threads - 1) {
        atomic_store_explicit(&barrier->arrived, 0, memory_order_relaxed);
        atomic_store_explicit(&barrier->phase, phase + 1, memory_order_release);
        return;
    }
    int spins = 0;
    while (atomic_load_explicit(&barrier->phase, memory_order_acquire) == phase) {
        if (++spins < RK_SPINS) rk_pause(); else sched_yield();
    }
}

struct rk_schedule_counter {
    _Alignas(64) atomic_int value;
};

// Per phase: claimed[half], then done[thread].
struct rk_schedule {
    int phases;
    struct rk_schedule_counter counters[];
};

rk_schedule *rk_schedule_create(int phases) {
    const size_t size = sizeof(rk_schedule) + (size_t)phases * 4 * sizeof(struct rk_schedule_counter);
    rk_schedule *schedule = aligned_alloc(64, (size + 63) / 64 * 64);
    if (!schedule) return NULL;
    schedule->phases = phases;
    for (int i = 0; i < 4 * phases; i++) atomic_init(&schedule->counters[i].value, 0);
    return schedule;
}

void rk_schedule_destroy(rk_schedule *schedule) { free(schedule); }

int rk_schedule_claim(rk_schedule *schedule, int phase, int half) {
    return atomic_fetch_add_explicit(&schedule->counters[4 * phase + half].value, 1, memory_order_relaxed);
}

void rk_schedule_finish(rk_schedule *schedule, int phase, int thread) {
    atomic_fetch_add_explicit(&schedule->counters[4 * phase + 2 + thread].value, 1, memory_order_release);
}

void rk_schedule_wait(rk_schedule *schedule, int phase, int pieces) {
    int spins = 0;
    while (atomic_load_explicit(&schedule->counters[4 * phase + 2].value, memory_order_acquire) +
               atomic_load_explicit(&schedule->counters[4 * phase + 3].value, memory_order_acquire) < pieces) {
        if (++spins < RK_SPINS) rk_pause(); else sched_yield();
    }
}

int rk_schedule_finished(rk_schedule *schedule, int phase) {
    return atomic_load_explicit(&schedule->counters[4 * phase + 2].value, memory_order_acquire) +
           atomic_load_explicit(&schedule->counters[4 * phase + 3].value, memory_order_acquire);
}

void rk_spin_pause(void) { rk_pause(); }

static pthread_once_t rk_worker_once = PTHREAD_ONCE_INIT;
static int rk_worker_started;
static pthread_mutex_t rk_worker_owner = PTHREAD_MUTEX_INITIALIZER;  // held by the caller the worker serves
static pthread_mutex_t rk_worker_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rk_worker_wake = PTHREAD_COND_INITIALIZER;
static rk_task rk_worker_task;
static void *rk_worker_context;
static atomic_uint rk_worker_posted;
static atomic_uint rk_worker_done;

static void *rk_worker_main(void *unused) {
    (void)unused;
    unsigned seen = 0;
    for (;;) {
        int spins = 0;
        while (atomic_load(&rk_worker_posted) == seen) {
            if (++spins < RK_SPINS) {
                rk_pause();
                continue;
            }
            pthread_mutex_lock(&rk_worker_lock);
            while (atomic_load(&rk_worker_posted) == seen) pthread_cond_wait(&rk_worker_wake, &rk_worker_lock);
            pthread_mutex_unlock(&rk_worker_lock);
        }
        seen = atomic_load(&rk_worker_posted);
        rk_worker_task(rk_worker_context, 1);
        atomic_store(&rk_worker_done, seen);
    }
    return NULL;
}

static void rk_worker_start(void) {
    pthread_attr_t attributes;
    pthread_t thread;
    if (pthread_attr_init(&attributes) != 0) return;
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    rk_worker_started = pthread_create(&thread, &attributes, rk_worker_main, NULL) == 0;
    pthread_attr_destroy(&attributes);
}

int rk_parallel_run(rk_task task, void *context) {
    pthread_once(&rk_worker_once, rk_worker_start);
    if (!rk_worker_started || pthread_mutex_trylock(&rk_worker_owner) != 0) return 0;
    rk_worker_task = task;
    rk_worker_context = context;
    pthread_mutex_lock(&rk_worker_lock);
    const unsigned ticket = atomic_fetch_add(&rk_worker_posted, 1) + 1;
    pthread_cond_signal(&rk_worker_wake);
    pthread_mutex_unlock(&rk_worker_lock);
    task(context, 0);
    int spins = 0;
    while (atomic_load(&rk_worker_done) != ticket) {
        if (++spins < RK_SPINS) rk_pause(); else sched_yield();
    }
    pthread_mutex_unlock(&rk_worker_owner);
    return 1;
}
