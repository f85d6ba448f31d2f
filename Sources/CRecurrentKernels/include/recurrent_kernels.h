#ifndef RNN_RECURRENT_KERNELS_H
#define RNN_RECURRENT_KERNELS_H
// The recurrent half of the RNN/LSTM/GRU forward pass: one direction of one layer, every time step, with the
// input projection (x·W_ih^T for all steps) already computed by a GEMM. Each step is a small matrix product
// h·W_hh^T over pre-packed weights fused with the gate arithmetic, so the gates never leave registers.
//
// Packed layout (rk_pack_*): hidden units are grouped in blocks of RK_BLOCK_F32 (float) or RK_BLOCK_F64 (double)
// units; block u holds, for every input column k, the G gates' weights of its units: [blocks][K][G][block],
// zero-padded past the last unit. Biases are packed the same way without K: [blocks][G][block].
//
// Every element is summed in the same order whatever the thread count or the tiling, so results do not depend
// on how many threads run. The code exists once per instruction set (AVX-512, AVX2+FMA, baseline x86-64 or any
// other CPU); the entry points pick the best one the CPU has at run time.
#include <stddef.h>

#define RK_BLOCK_F32 16
#define RK_BLOCK_F64 8

/// What a direction computes each step.
enum rk_mode {
    RK_MODE_RNN_TANH = 0,
    RK_MODE_RNN_RELU = 1,
    RK_MODE_LSTM = 2,
    RK_MODE_GRU = 3,
};

/// One direction of one layer over the sequence, or over a range of its steps (the caller computes the input
/// projection a range of steps at a time, and runs each range when its projection is ready). Strides are in
/// elements. Row (t, b) of the input projection starts at xproj + (t − xproj_first_time)*xproj_time_stride +
/// b*xproj_batch_stride and holds G·H values (PyTorch's gate order, no bias); the step's output for (t, b) is
/// written at output + t*output_time_stride + b*output_batch_stride. h_a holds h0 before the first step; the
/// state after step i is in h_b when i is even, h_a when odd, and in h_n after the last step. Buffers marked
/// "padded" must be readable one block past their end.
#define RK_SEQUENCE_FIELDS(T)                                                                            \
    int mode;                                                                                            \
    int batch;                                                                                           \
    int steps;                                                                                           \
    int reverse;             /* 1: run from the last step to the first */                               \
    int first_step;          /* this call runs steps [first_step, first_step + step_count), counted in */ \
    int step_count;          /* the order they run (so from the end when reverse) */                    \
    int state_size;          /* S: width of h (proj_size when projected, else H) */                     \
    int hidden_size;         /* H */                                                                     \
    int proj_size;           /* P, 0 without projection */                                               \
    const T *w_hh;           /* packed [blocks(H)][S][G][block] */                                       \
    const T *b_hh;           /* packed [blocks(H)][G][block] (zeros without bias) */                     \
    const T *b_ih;           /* packed [blocks(H)][G][block] (zeros without bias) */                     \
    const T *w_hr;           /* packed [blocks(P)][H][1][block], NULL without projection */              \
    const T *zeros;          /* at least one block of zeros */                                           \
    const T *xproj;          /* padded; holds the rows of times xproj_first_time… */                    \
    int xproj_first_time;                                                                                \
    long xproj_time_stride;                                                                              \
    long xproj_batch_stride;                                                                             \
    T *output;                                                                                           \
    long output_time_stride;                                                                             \
    long output_batch_stride;                                                                            \
    T *h_a;                  /* [batch][S], padded: holds h0 on entry */                                 \
    T *h_b;                  /* [batch][S], padded: scratch */                                           \
    T *h_full;               /* [batch][blocks(H)·block]: LSTM with projection only */                   \
    T *c;                    /* [batch][blocks(H)·block]: LSTM only, holds c0 on entry */                \
    const int *lengths;      /* NULL, or one per batch element: rows stop after their own length */      \
    T *h_n;                  /* [batch][S]: the final state, or NULL */                                  \
    T *c_n;                  /* [batch][H]: the final cell state (LSTM only), or NULL */

/// A float32 sequence job.
typedef struct { RK_SEQUENCE_FIELDS(float) } rk_sequence_f32;
/// A float64 sequence job.
typedef struct { RK_SEQUENCE_FIELDS(double) } rk_sequence_f64;

/// The wait every thread of the forward pass uses: rk_spin pauses (the CPU's spin-wait hint) and returns 1 for
/// the first few thousand calls with the same counter, then returns 0 without pausing, when the caller should
/// stop spinning (sleep, or yield); rk_backoff pauses the same way and then yields the core.
int rk_spin(int *spins);
void rk_backoff(int *spins);

/// A spinning barrier for a fixed number of threads (created by rk_barrier_create).
typedef struct rk_barrier rk_barrier;

rk_barrier *rk_barrier_create(int threads);
void rk_barrier_destroy(rk_barrier *barrier);
void rk_barrier_wait(rk_barrier *barrier);

/// Which version of the kernels runs: RK_KERNELS_AUTO, the best the CPU has; another, that one when the CPU has
/// it, else the best it has below (tests use this to check every version on one machine).
enum rk_kernels {
    RK_KERNELS_AUTO = -1,
    RK_KERNELS_GENERIC = 0,
    RK_KERNELS_AVX2 = 1,
    RK_KERNELS_AVX512 = 2,
};

/// How threads share work without waiting for each other: a phase of work (a step, a step's projection, a chunk's
/// input projection, a task) is cut into `parts`, and each part into pieces, fixed in advance; threads claim the
/// pieces as they go, each starting with its own part, and the next phase starts once every piece is done, whoever
/// did it. Any number of threads may share a schedule, and join it late. A thread that the system has descheduled
/// holds up the others only while it holds a piece. A sequence run uses phases 0 … 2·steps − 1 (a projected LSTM
/// has two per step); the caller may use later ones. Per phase: a claim counter per part and a count of the pieces
/// done, each on its own cache line.
typedef struct rk_schedule rk_schedule;

/// NULL when phases or parts are below 1, or out of memory.
rk_schedule *rk_schedule_create(int phases, int parts);
void rk_schedule_destroy(rk_schedule *schedule);
/// Every counter back to zero, for the schedule's reuse (while no thread uses it).
void rk_schedule_reset(rk_schedule *schedule);
int rk_schedule_parts(const rk_schedule *schedule);
/// Claims the next piece of `part` of `phase`: returns 0, 1, 2… (past the last piece: nothing left).
int rk_schedule_claim(rk_schedule *schedule, int phase, int part);
/// Records that a piece of `phase` is done (its writes are visible to whoever waits for the phase).
void rk_schedule_finish(rk_schedule *schedule, int phase);
/// Waits until `pieces` pieces of `phase` are done.
void rk_schedule_wait(rk_schedule *schedule, int phase, int pieces);
/// How many pieces of `phase` are done, without waiting (what they wrote is visible once this counts them).
int rk_schedule_finished(rk_schedule *schedule, int phase);

/// Runs `sequence` as member `member` of the threads sharing `schedule` (NULL: alone, member 0). The blocks of
/// each step are cut into the schedule's parts; member m starts with part m mod parts. Returns when the range's
/// work is all done; after the last step, member 0 also writes h_n and c_n (where they are not NULL).
/// `kernels` is an rk_kernels value.
void rk_sequence_run_f32(const rk_sequence_f32 *sequence, int member, rk_schedule *schedule, int kernels);
void rk_sequence_run_f64(const rk_sequence_f64 *sequence, int member, rk_schedule *schedule, int kernels);

/// A task for rk_team_run: called once for each thread number 0 … threads − 1, at the same time.
typedef void (*rk_task)(void *context, int thread);

/// A team of resident worker threads, owned by whoever creates it (no process-wide state): they wait for work
/// spinning, then asleep, and end in rk_team_destroy. NULL when the threads cannot all be started.
typedef struct rk_team rk_team;

rk_team *rk_team_create(int workers);
void rk_team_destroy(rk_team *team);
int rk_team_workers(const rk_team *team);
/// Runs task(context, 0) on the calling thread and task(context, i) on worker i for 0 < i < threads (at most the
/// team's workers + 1), and returns when all are done. One caller at a time per team.
void rk_team_run(rk_team *team, int threads, rk_task task, void *context);

/// Packs w ([gates·units, columns] row-major, PyTorch's layout) into `packed`, which must hold
/// rk_packed_count_*(gates, units, columns) elements. `w` may be NULL for zeros (a missing bias, with columns 1).
size_t rk_packed_count_f32(int gates, int units, int columns);
size_t rk_packed_count_f64(int gates, int units, int columns);
void rk_pack_f32(const float *w, int gates, int units, int columns, float *packed);
void rk_pack_f64(const double *w, int gates, int units, int columns, double *packed);

/// out = x·wᵀ for `rows` rows: x [rows, columns] (row stride ldx), w packed by rk_pack (gates 1, `units` units,
/// `columns` columns), out [rows, units] (row stride ldout; nothing past `units` is written). Every element is
/// summed over k = 0, 1, 2… in order, so a projection done in parts gives the same bits as in one go.
void rk_project_f32(const float *x, long ldx, int rows, int columns, const float *w, int units, float *out, long ldout,
                    int kernels);
void rk_project_f64(const double *x, long ldx, int rows, int columns, const double *w, int units, double *out,
                    long ldout, int kernels);

/// The instruction set of the kernels that RK_KERNELS_AUTO runs on this CPU: "avx512", "avx2" or "generic".
const char *rk_instruction_set(void);

#endif
