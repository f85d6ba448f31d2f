// Threads for the forward pass: teams of resident worker threads, schedules that let any number of threads share
// a phase of work, a barrier, and the one spin-then-back-off wait that all of them use.
//
// The forward pass synchronises once or twice per time step, a few microseconds apart, so every wait spins (with
// the CPU's pause hint) for a while before it yields the core or sleeps: a futex wake-up costs more than a step.
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "kernels_internal.h"

// Pauses before a wait yields or sleeps: roughly 100–300 µs on current x86 CPUs.
#define RK_SPINS 4000

static inline void rk_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

int rk_spin(int *spins) {
    if (*spins >= RK_SPINS) return 0;
    ++*spins;
    rk_pause();
    return 1;
}

void rk_backoff(int *spins) {
    if (!rk_spin(spins)) sched_yield();
}

// MARK: barrier

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
    while (atomic_load_explicit(&barrier->phase, memory_order_acquire) == phase) rk_backoff(&spins);
}

// MARK: schedule

struct rk_schedule_counter {
    _Alignas(64) atomic_int value;
};

// Per phase, `parts + 1` counters, each on its own cache line: the claims of each part, then the pieces done.
struct rk_schedule {
    int phases;
    int parts;
    struct rk_schedule_counter counters[];
};

static inline atomic_int *rk_claims(rk_schedule *schedule, int phase, int part) {
    return &schedule->counters[(long)phase * (schedule->parts + 1) + part].value;
}

static inline atomic_int *rk_done(rk_schedule *schedule, int phase) {
    return &schedule->counters[(long)phase * (schedule->parts + 1) + schedule->parts].value;
}

rk_schedule *rk_schedule_create(int phases, int parts) {
    if (phases < 1 || parts < 1) return NULL;
    const size_t counters = (size_t)phases * (size_t)(parts + 1);
    const size_t size = sizeof(rk_schedule) + counters * sizeof(struct rk_schedule_counter);
    rk_schedule *schedule = aligned_alloc(64, (size + 63) / 64 * 64);
    if (!schedule) return NULL;
    schedule->phases = phases;
    schedule->parts = parts;
    for (size_t i = 0; i < counters; i++) atomic_init(&schedule->counters[i].value, 0);
    return schedule;
}

void rk_schedule_destroy(rk_schedule *schedule) { free(schedule); }

void rk_schedule_reset(rk_schedule *schedule) {
    const size_t counters = (size_t)schedule->phases * (size_t)(schedule->parts + 1);
    for (size_t i = 0; i < counters; i++) atomic_store_explicit(&schedule->counters[i].value, 0, memory_order_relaxed);
}

int rk_schedule_parts(const rk_schedule *schedule) { return schedule->parts; }

int rk_schedule_claim(rk_schedule *schedule, int phase, int part) {
    return atomic_fetch_add_explicit(rk_claims(schedule, phase, part), 1, memory_order_relaxed);
}

void rk_schedule_finish(rk_schedule *schedule, int phase) {
    atomic_fetch_add_explicit(rk_done(schedule, phase), 1, memory_order_release);
}

void rk_schedule_wait(rk_schedule *schedule, int phase, int pieces) {
    int spins = 0;
    while (atomic_load_explicit(rk_done(schedule, phase), memory_order_acquire) < pieces) rk_backoff(&spins);
}

int rk_schedule_finished(rk_schedule *schedule, int phase) {
    return atomic_load_explicit(rk_done(schedule, phase), memory_order_acquire);
}

// MARK: team

struct rk_team {
    int workers;
    pthread_t *threads;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    _Alignas(64) atomic_uint posted;  // the current job's ticket
    _Alignas(64) atomic_int finished;  // workers done with the current job
    _Alignas(64) atomic_int sleeping;  // workers waiting on `wake` (or about to)
    rk_task task;
    void *context;
    int members;                      // threads the current job runs on, the caller included
    int stopping;
};

struct rk_worker_start {
    rk_team *team;
    int index;  // 1…workers: the thread number the worker runs tasks as
};

static void *rk_worker_main(void *argument) {
    struct rk_worker_start start = *(struct rk_worker_start *)argument;
    free(argument);
    rk_team *team = start.team;
    unsigned seen = 0;
    for (;;) {
        int spins = 0;
        while (atomic_load_explicit(&team->posted, memory_order_acquire) == seen) {
            if (rk_spin(&spins)) continue;
            // Announced before looking at `posted` again (both sequentially consistent): a job posted from now on
            // sees the sleeper and wakes it, one posted before is seen here.
            pthread_mutex_lock(&team->lock);
            atomic_fetch_add(&team->sleeping, 1);
            while (atomic_load(&team->posted) == seen && !team->stopping) {
                pthread_cond_wait(&team->wake, &team->lock);
            }
            atomic_fetch_sub(&team->sleeping, 1);
            const int stopping = team->stopping;
            pthread_mutex_unlock(&team->lock);
            if (stopping) return NULL;
        }
        seen = atomic_load_explicit(&team->posted, memory_order_acquire);
        if (start.index < team->members) team->task(team->context, start.index);
        atomic_fetch_add_explicit(&team->finished, 1, memory_order_acq_rel);
    }
}

rk_team *rk_team_create(int workers) {
    if (workers < 0) return NULL;
    rk_team *team = aligned_alloc(64, (sizeof(rk_team) + 63) / 64 * 64);
    if (!team) return NULL;
    team->workers = 0;
    team->threads = calloc((size_t)(workers > 0 ? workers : 1), sizeof(pthread_t));
    pthread_mutex_init(&team->lock, NULL);
    pthread_cond_init(&team->wake, NULL);
    atomic_init(&team->posted, 0);
    atomic_init(&team->finished, 0);
    atomic_init(&team->sleeping, 0);
    team->task = NULL;
    team->context = NULL;
    team->members = 1;
    team->stopping = 0;
    if (!team->threads) {
        rk_team_destroy(team);
        return NULL;
    }
    for (int i = 0; i < workers; i++) {
        struct rk_worker_start *start = malloc(sizeof *start);
        if (!start) break;
        start->team = team;
        start->index = i + 1;
        if (pthread_create(&team->threads[i], NULL, rk_worker_main, start) != 0) {
            free(start);
            break;
        }
        team->workers++;
    }
    if (team->workers < workers) {  // out of threads: no team rather than a smaller one
        rk_team_destroy(team);
        return NULL;
    }
    return team;
}

int rk_team_workers(const rk_team *team) { return team->workers; }

void rk_team_destroy(rk_team *team) {
    if (!team) return;
    pthread_mutex_lock(&team->lock);
    team->stopping = 1;
    pthread_cond_broadcast(&team->wake);
    pthread_mutex_unlock(&team->lock);
    for (int i = 0; i < team->workers; i++) pthread_join(team->threads[i], NULL);
    pthread_cond_destroy(&team->wake);
    pthread_mutex_destroy(&team->lock);
    free(team->threads);
    free(team);
}

void rk_team_run(rk_team *team, int threads, rk_task task, void *context) {
    if (threads > team->workers + 1) threads = team->workers + 1;
    if (threads <= 1) {
        task(context, 0);
        return;
    }
    team->task = task;
    team->context = context;
    team->members = threads;
    atomic_store_explicit(&team->finished, 0, memory_order_relaxed);
    // Workers still spinning see the new ticket; the lock is taken only when one has gone to sleep.
    atomic_fetch_add(&team->posted, 1);
    if (atomic_load(&team->sleeping) > 0) {
        pthread_mutex_lock(&team->lock);
        pthread_cond_broadcast(&team->wake);
        pthread_mutex_unlock(&team->lock);
    }
    task(context, 0);
    int spins = 0;
    while (atomic_load_explicit(&team->finished, memory_order_acquire) < team->workers) rk_backoff(&spins);
}
