// One scalar type's kernels; included by kernels_isa.h with RK_T (float or double), RK_V (its 64-byte vector),
// RK_VI (the matching integer vector), RK_VU (the unaligned vector), RK_VW (lanes: 16 or 8) and RK_SFX (f32, f64).
//
// A step computes, for a tile of MR batch rows × NB unit blocks, G accumulators per (row, block): the bias b_hh
// plus Σ_k h[row][k]·W_hh[gate][unit][k], k = 0, 1, 2… in that order, one fused multiply-add at a time, in blocks
// of RK_KBLOCK columns whose partial sums join the total in order (see rk_tile). Then the
// gate arithmetic runs on the accumulators while they are still in registers. The tile shape changes nothing in
// any element's arithmetic, so neither does the number of threads.

#define RK_FN(name) RK_CAT(RK_CAT(name, _), RK_SFX)
#define RK_SEQUENCE RK_CAT(rk_sequence_, RK_SFX)
#define RK_ARGS RK_FN(rk_tile_args)
#ifndef RK_MODE_LINEAR
#define RK_MODE_LINEAR 100 /* the projection of an LSTM with proj_size: no bias, no activation */
#endif

typedef struct {
    int mode;
    int gates;
    int columns;            // K: the width of the rows of h
    const RK_T *w;          // packed [blocks][K][G][VW]
    const RK_T *bias_hh;    // packed [blocks][G][VW], NULL for zeros
    const RK_T *bias_ih;    // packed [blocks][G][VW]
    const RK_T *h;          // rows multiplied by W
    long ldh;
    const RK_T *hprev;      // the state before the step (GRU's blend; copied for finished rows)
    long ldhp;
    const RK_T *xrow;       // the input projection at this step, row b at xrow + b·ldx
    long ldx;
    int units;              // valid units (H, or P for the projection)
    int hidden;             // H: the distance between gates in a row of the input projection
    RK_T *dst;              // the new state
    long lddst;
    RK_T *out;              // the step's output, or NULL
    long ldout;
    RK_T *c;                // LSTM cell state [batch][blocks·VW]
    long ldc;
    const int *lengths;
    int t;
    int copy_inactive;      // rows past their length carry hprev over into dst
} RK_ARGS;

static inline RK_V RK_FN(rk_load)(const RK_T *p) {
    RK_V v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

static inline void RK_FN(rk_store)(RK_T *p, RK_V v, int valid) {
    if (valid == RK_VW) {
        __builtin_memcpy(p, &v, sizeof v);
    } else {
        RK_T lanes[RK_VW];
        __builtin_memcpy(lanes, &v, sizeof v);
        for (int i = 0; i < valid; i++) p[i] = lanes[i];
    }
}

#define RK_MAX_COLUMNS 16  /* NB·G accumulators per row, at most (the single-row LSTM tile: 4 blocks × 4 gates) */
#define RK_MAX_PAIRS (RK_MAX_ROWS * RK_MAX_COLUMNS)
#ifndef RK_KBLOCK
#define RK_KBLOCK 16  /* columns summed in one chain before the partial sum joins the total (rk_tile) */
#endif

// The gate arithmetic of a tile, as PyTorch's cells order it (see ForwardPass.swift): acc[r][n·G + g] holds
// the recurrent sum h·W_hh^T + b_hh of gate g for row b0 + r and block block0 + n; the input projection supplies
// x·W_ih^T, to which b_ih is added here.
//
// Each (row, block) pair's arithmetic is one long chain of dependent operations (an LSTM's is exp, reciprocal, the
// new cell, then tanh of it: far more latency than work). Written pair by pair, the chains would run one after
// another; here every stage runs over all the tile's pairs before the next stage, so the processor has MR·NB
// independent chains side by side (BENCHMARKS.md, kernel notes, has the figures). Each element's operations and their
// order are those of the pair-by-pair code: the results are the same bits.
static inline __attribute__((always_inline)) void RK_FN(rk_finish_tile)(const RK_ARGS *x, int b0, int block0,
                                                                        const int G, const int MR, const int NB,
                                                                        RK_V acc[RK_MAX_ROWS][RK_MAX_COLUMNS]) {
    const long H = x->hidden;
    RK_V v[RK_MAX_PAIRS], s0[RK_MAX_PAIRS], s1[RK_MAX_PAIRS], s2[RK_MAX_PAIRS], s3[RK_MAX_PAIRS];
    const RK_T *xr[RK_MAX_PAIRS], *bi[RK_MAX_PAIRS];
    if (x->mode != RK_MODE_LINEAR) {
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
#pragma clang loop unroll(full)
            for (int n = 0; n < NB; n++) {
                xr[r * NB + n] = x->xrow + (long)(b0 + r) * x->ldx + (block0 + n) * RK_VW;
                bi[r * NB + n] = x->bias_ih + (long)(block0 + n) * G * RK_VW;
            }
        }
    }
#define RK_EACH(j) _Pragma("clang loop unroll(full)") for (int j = 0; j < MR * NB; j++)
#define RK_A(j, g) acc[(j) / NB][(j) % NB * G + (g)]
#define RK_XB(j, g) (RK_FN(rk_load)(xr[j] + (g) * H) + RK_FN(rk_load)(bi[j] + (g) * RK_VW))
    switch (x->mode) {
    case RK_MODE_RNN_TANH:
        RK_EACH(j) v[j] = RK_FN(rk_tanh)(RK_XB(j, 0) + RK_A(j, 0));
        break;
    case RK_MODE_RNN_RELU:
        RK_EACH(j) {
            RK_V sum = RK_XB(j, 0) + RK_A(j, 0);
            v[j] = RK_CAT(rk_select_, RK_SFX)(sum < (RK_T)0, (RK_V){}, sum);  // max(sum, 0), NaN kept as PyTorch keeps it
        }
        break;
    case RK_MODE_LSTM:
        RK_EACH(j) s0[j] = RK_FN(rk_sigmoid)(RK_A(j, 0) + RK_XB(j, 0));  // i
        RK_EACH(j) s1[j] = RK_FN(rk_sigmoid)(RK_A(j, 1) + RK_XB(j, 1));  // f
        RK_EACH(j) s2[j] = RK_FN(rk_tanh)(RK_A(j, 2) + RK_XB(j, 2));     // g
        RK_EACH(j) s3[j] = RK_FN(rk_sigmoid)(RK_A(j, 3) + RK_XB(j, 3));  // o
        RK_EACH(j) {  // the new cell, kept in s1
            const RK_T *cp = x->c + (long)(b0 + j / NB) * x->ldc + (block0 + j % NB) * RK_VW;
            s1[j] = s1[j] * RK_FN(rk_load)(cp) + s0[j] * s2[j];
        }
        RK_EACH(j) v[j] = s3[j] * RK_FN(rk_tanh)(s1[j]);
        break;
    case RK_MODE_GRU:
        RK_EACH(j) s0[j] = RK_FN(rk_sigmoid)(RK_A(j, 0) + RK_XB(j, 0));  // r
        RK_EACH(j) s1[j] = RK_FN(rk_sigmoid)(RK_A(j, 1) + RK_XB(j, 1));  // z
        RK_EACH(j) s2[j] = RK_FN(rk_tanh)(RK_XB(j, 2) + RK_A(j, 2) * s0[j]);  // n
        RK_EACH(j) {
            RK_V previous = RK_FN(rk_load)(x->hprev + (long)(b0 + j / NB) * x->ldhp + (block0 + j % NB) * RK_VW);
            v[j] = (previous - s2[j]) * s1[j] + s2[j];
        }
        break;
    default:  // RK_MODE_LINEAR
        RK_EACH(j) v[j] = RK_A(j, 0);
        break;
    }
#undef RK_XB
#undef RK_A
#undef RK_EACH
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
        const int b = b0 + r;
        const int inactive = x->lengths && x->t >= x->lengths[b];
#pragma clang loop unroll(full)
        for (int n = 0; n < NB; n++) {
            const int u0 = (block0 + n) * RK_VW;
            int valid = x->units - u0;
            if (valid > RK_VW) valid = RK_VW;
            RK_T *dst = x->dst + (long)b * x->lddst + u0;
            if (inactive) {
                if (x->copy_inactive) {
                    const RK_T *src = x->hprev + (long)b * x->ldhp + u0;
                    for (int i = 0; i < valid; i++) dst[i] = src[i];
                }
                continue;
            }
            if (x->mode == RK_MODE_LSTM) {  // the cell rows are padded to whole blocks
                __builtin_memcpy(x->c + (long)b * x->ldc + u0, &s1[r * NB + n], sizeof(RK_V));
            }
            RK_FN(rk_store)(dst, v[r * NB + n], valid);
            if (x->out) RK_FN(rk_store)(x->out + (long)b * x->ldout + u0, v[r * NB + n], valid);
        }
    }
}

#define RK_PIECES 3                 /* pieces per half of a phase at least (rk_phase)… */
#define RK_PIECE_WORK (256 * 1024)  /* … and more, of about this many multiply-adds, when there is more work */
#ifndef RK_PREFETCH_BYTES  /* tools/tile_bench.c sets its own, to time the tiles without the prefetch */
#define RK_PREFETCH_BYTES (1 << 20)  /* weights from which tiles prefetch the next group's (rk_group) */
#endif

static inline __attribute__((always_inline)) void RK_FN(rk_tile)(const RK_ARGS *x, int b0, int block0,
                                                                 const RK_T *ahead, const int G, const int MR,
                                                                 const int NB) {
    const int K = x->columns;
    RK_V acc[RK_MAX_ROWS][RK_MAX_COLUMNS];
    const RK_T *panel[RK_MAX_COLUMNS];
    const RK_T *rows[RK_MAX_ROWS];
#pragma clang loop unroll(full)
    for (int n = 0; n < NB; n++) panel[n] = x->w + (size_t)(block0 + n) * K * G * RK_VW;
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) rows[r] = x->h + (long)(b0 + r) * x->ldh;
#pragma clang loop unroll(full)
    for (int n = 0; n < NB; n++) {
#pragma clang loop unroll(full)
        for (int g = 0; g < G; g++) {
            RK_V bias = x->bias_hh ? RK_FN(rk_load)(x->bias_hh + ((size_t)(block0 + n) * G + g) * RK_VW) : (RK_V){};
#pragma clang loop unroll(full)
            for (int r = 0; r < MR; r++) acc[r][n * G + g] = bias;
        }
    }
    // The epilogue reads this step's input projection, which nothing has touched since the GEMM wrote it: ask
    // for it now, so it arrives while the sums run.
    if (x->xrow) {
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
#pragma clang loop unroll(full)
            for (int n = 0; n < NB; n++) {
#pragma clang loop unroll(full)
                for (int g = 0; g < G; g++) {
                    const RK_T *p = x->xrow + (long)(b0 + r) * x->ldx + (long)g * x->hidden + (block0 + n) * RK_VW;
                    __builtin_prefetch(p);
                    __builtin_prefetch(p + RK_VW - 1);
                }
            }
        }
    }
    // The sum runs in blocks of RK_KBLOCK columns: each block's products are summed from zero, then added to the
    // total of the blocks before (the first block starts from the bias). One chain of K roundings at the scale of
    // the whole sum becomes K/RK_KBLOCK chains at the scale of a block's sum: a wide layer's result is then closer
    // to the exact sum than PyTorch's (tests: AccuracyTests). Up to RK_KBLOCK columns it is one plain chain.
    RK_V total[RK_MAX_ROWS][RK_MAX_COLUMNS];
    for (int k0 = 0; k0 < K; k0 += RK_KBLOCK) {
        if (k0 > 0) {
#pragma clang loop unroll(full)
            for (int r = 0; r < MR; r++) {
#pragma clang loop unroll(full)
                for (int j = 0; j < NB * G; j++) {
                    total[r][j] = k0 == RK_KBLOCK ? acc[r][j] : total[r][j] + acc[r][j];
                    acc[r][j] = (RK_V){};
                }
            }
        }
        const int k1 = K - k0 > RK_KBLOCK ? k0 + RK_KBLOCK : K;
        for (int k = k0; k < k1; k++) {
            if (ahead) __builtin_prefetch(ahead + (size_t)k * RK_VW, 0, 2);  // one line per k, into L2
            RK_V w[RK_MAX_COLUMNS];
#pragma clang loop unroll(full)
            for (int n = 0; n < NB; n++) {
#pragma clang loop unroll(full)
                for (int g = 0; g < G; g++) w[n * G + g] = RK_FN(rk_load)(panel[n] + ((size_t)k * G + g) * RK_VW);
            }
#pragma clang loop unroll(full)
            for (int r = 0; r < MR; r++) {
                RK_V hk = rows[r][k] - (RK_V){};  // a splat that keeps −0
#pragma clang loop unroll(full)
                for (int j = 0; j < NB * G; j++) acc[r][j] = RK_CAT(rk_fma_, RK_SFX)(hk, w[j], acc[r][j]);
            }
        }
    }
    if (K > RK_KBLOCK) {
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
#pragma clang loop unroll(full)
            for (int j = 0; j < NB * G; j++) acc[r][j] = total[r][j] + acc[r][j];
        }
    }
    RK_FN(rk_finish_tile)(x, b0, block0, G, MR, NB, acc);
}

// The columns [k0, k1) of a tile's sums, a whole number of RK_KBLOCK blocks (but at the end), for
// rk_group_columns: the same arithmetic as rk_tile, run with the loops the other way round. Each block's sum starts
// from zero (the first from the bias) and is added to the total, total + block, as rk_tile adds them; between
// calls the totals wait in `totals` ([MR][NB·G] vectors); the call that ends at K runs the gate arithmetic. The
// results are rk_tile's, bit for bit. (rk_tile written as one call of this over [0, K) ran 12% slower on the
// AVX2 RNN tile in tools/tile_bench.c, so the two stay apart.)
static inline __attribute__((always_inline)) void RK_FN(rk_tile_part)(const RK_ARGS *x, int b0, int block0, int k0,
                                                                      int k1, RK_V *totals, const int G,
                                                                      const int MR, const int NB) {
    const int K = x->columns;
    RK_V acc[RK_MAX_ROWS][RK_MAX_COLUMNS], total[RK_MAX_ROWS][RK_MAX_COLUMNS];
    const RK_T *panel[RK_MAX_COLUMNS];
    const RK_T *rows[RK_MAX_ROWS];
#pragma clang loop unroll(full)
    for (int n = 0; n < NB; n++) panel[n] = x->w + (size_t)(block0 + n) * K * G * RK_VW;
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) rows[r] = x->h + (long)(b0 + r) * x->ldh;
    for (int kb = k0; kb < k1; kb += RK_KBLOCK) {
#pragma clang loop unroll(full)
        for (int n = 0; n < NB; n++) {
#pragma clang loop unroll(full)
            for (int g = 0; g < G; g++) {
                RK_V start = kb == 0 && x->bias_hh
                                 ? RK_FN(rk_load)(x->bias_hh + ((size_t)(block0 + n) * G + g) * RK_VW) : (RK_V){};
#pragma clang loop unroll(full)
                for (int r = 0; r < MR; r++) acc[r][n * G + g] = start;
            }
        }
        const int ke = k1 - kb > RK_KBLOCK ? kb + RK_KBLOCK : k1;
        for (int k = kb; k < ke; k++) {
            RK_V w[RK_MAX_COLUMNS];
#pragma clang loop unroll(full)
            for (int n = 0; n < NB; n++) {
#pragma clang loop unroll(full)
                for (int g = 0; g < G; g++) w[n * G + g] = RK_FN(rk_load)(panel[n] + ((size_t)k * G + g) * RK_VW);
            }
#pragma clang loop unroll(full)
            for (int r = 0; r < MR; r++) {
                RK_V hk = rows[r][k] - (RK_V){};  // a splat that keeps −0
#pragma clang loop unroll(full)
                for (int j = 0; j < NB * G; j++) acc[r][j] = RK_CAT(rk_fma_, RK_SFX)(hk, w[j], acc[r][j]);
            }
        }
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
#pragma clang loop unroll(full)
            for (int j = 0; j < NB * G; j++) {
                total[r][j] = kb == 0 ? acc[r][j]
                              : kb == k0 ? totals[r * NB * G + j] + acc[r][j] : total[r][j] + acc[r][j];
            }
        }
    }
    if (k1 < K) {
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
#pragma clang loop unroll(full)
            for (int j = 0; j < NB * G; j++) totals[r * NB * G + j] = total[r][j];
        }
        return;
    }
    RK_FN(rk_finish_tile)(x, b0, block0, G, MR, NB, total);
}

// The tiles used (gates, rows, blocks), chosen so that accumulators + weight vectors fit in 32 registers
// (AVX-512): rows × blocks × gates ≤ 24, or 16 for the single-row LSTM tile, whose FMAs read the weights from
// memory themselves. Single-row tiles take several blocks so that enough independent sums hide the FMA latency
// (two FMAs per cycle, four cycles each: eight sums are just enough). One list serves both the definitions and
// rk_pick.
#define RK_TILES_SHORT(X)                                                                                      \
    X(1, 1, 8) X(1, 2, 8) X(1, 1, 4) X(1, 2, 4) X(1, 1, 2) X(1, 2, 2) X(1, 1, 1) X(1, 2, 1)                 \
    X(3, 1, 3) X(3, 2, 3) X(3, 1, 2) X(3, 2, 2) X(3, 1, 1) X(3, 2, 1)                                        \
    X(4, 1, 2) X(4, 2, 2) X(4, 1, 1) X(4, 2, 1)
#if RK_MAX_ROWS >= 6
#define RK_TILES_TALL(X)                                                                                       \
    X(1, 4, 4) X(1, 6, 4) X(1, 4, 1) X(1, 6, 1)                                                              \
    X(3, 4, 2) X(3, 4, 1) X(3, 6, 1)                                                                         \
    X(4, 1, 4) X(4, 4, 1) X(4, 6, 1)
#else
#define RK_TILES_TALL(X)
#endif
#define RK_TILES(X) RK_TILES_SHORT(X) RK_TILES_TALL(X)

#define RK_TILE(G, MR, NB)                                                                                   \
    _Static_assert((G) * (NB) <= RK_MAX_COLUMNS && (MR) <= RK_MAX_ROWS, "a tile larger than its arrays");      \
    static void RK_FN(rk_tile_##G##_##MR##_##NB)(const RK_ARGS *x, int b0, int block0, const RK_T *ahead) { \
        RK_FN(rk_tile)(x, b0, block0, ahead, G, MR, NB);                                                      \
    }
RK_TILES(RK_TILE)

typedef void (*RK_FN(rk_tile_fn))(const RK_ARGS *, int, int, const RK_T *);

#if RK_NARROW
#define RK_TILE_PART(G, MR, NB)                                                                                  \
    static void RK_FN(rk_tile_part_##G##_##MR##_##NB)(const RK_ARGS *x, int b0, int block0, int k0, int k1,     \
                                                      RK_V *totals) {                                            \
        RK_FN(rk_tile_part)(x, b0, block0, k0, k1, totals, G, MR, NB);                                           \
    }
RK_TILES(RK_TILE_PART)

typedef void (*RK_FN(rk_tile_part_fn))(const RK_ARGS *, int, int, int, int, RK_V *);

static RK_FN(rk_tile_part_fn) RK_FN(rk_pick_part)(int G, int MR, int NB) {
#define RK_CASE(g, mr, nb) if (G == g && MR == mr && NB == nb) return RK_FN(rk_tile_part_##g##_##mr##_##nb);
    RK_TILES(RK_CASE)
#undef RK_CASE
    return 0;
}
#endif

/// Blocks per tile for the tallest tile a batch allows.
static int RK_FN(rk_blocks_per_tile)(int G, int rows) {
#if RK_NARROW
    // 16 vector registers of 32 bytes (AVX2): a 64-byte vector takes two, so a tile keeps at most 6 of them as
    // accumulators (12 registers), leaving room for a weight vector and the broadcast h[k]; larger tiles would
    // spill an accumulator to memory at every multiply-add. Still 8–12 independent sums to hide the FMA latency.
    switch (G) {
    case 1: return rows <= 1 ? 4 : 2;
    case 3: return rows <= 1 ? 2 : 1;
    default: return 1;
    }
#endif
    switch (G) {
    case 1: return rows <= 2 ? 8 : 4;
    case 3: return rows <= 2 ? 3 : rows <= 4 ? 2 : 1;
    default: return rows == 1 && RK_MAX_ROWS >= 6 ? 4 : rows <= 2 ? 2 : 1;
    }
}

static RK_FN(rk_tile_fn) RK_FN(rk_pick)(int G, int MR, int NB) {
#define RK_CASE(g, mr, nb) if (G == g && MR == mr && NB == nb) return RK_FN(rk_tile_##g##_##mr##_##nb);
    RK_TILES(RK_CASE)
#undef RK_CASE
    return 0;
}

static int RK_FN(rk_rows_per_tile)(int G, int rows) {
#if RK_NARROW
    // Two rows of an LSTM's or a GRU's gates would hold 8 or 6 accumulators and their weights: one row, and
    // the rows take the columns outside, reading the weights from L1 (rk_group).
    if (G >= 3) return 1;
#else
    (void)G;
#endif
    if (rows >= 6 && RK_MAX_ROWS >= 6) return 6;
    if (rows >= 4 && RK_MAX_ROWS >= 4) return 4;
    return rows >= 2 ? 2 : 1;
}

/// One work item: blocks [start, start + nb) of every batch row, tile by tile.
///
/// Each tile reads the group's panel of weights (K·G lines of 64 bytes per block) from L2, where the first tile
/// found it. When the weights are larger than L2 (RK_PREFETCH_BYTES), that first tile would wait on memory for every
/// line: so each tile also asks, one line per k, for a K-line part of the next blocks' panel, which the tiles of
/// this group thus bring into L2 before the next group starts (tools/tile_bench.c measures it: BENCHMARKS.md).
#if RK_NARROW
#define RK_COLUMN_ROWS 32  /* rows whose block sums rk_group_columns keeps at a time (32 × 6 vectors: 12 KB) */
#ifndef RK_COLUMN_CHUNK
#define RK_COLUMN_CHUNK 64  /* columns per pass over the rows (4 blocks of 16: 16 KB of an LSTM's weights, in L1) */
#endif

/// rk_group with the columns outside: for each block of RK_KBLOCK columns, every row tile in turn, so that the
/// block's slice of the weights (RK_KBLOCK·G lines per unit block) is read from L1 by every row tile instead of
/// the whole panel from L2 by each. With 16 registers (AVX2) a tile has too few rows to reuse the weights it
/// loads, and a panel wider than L1 left the sums waiting on L2. The partial sums wait in `totals`.
static void RK_FN(rk_group_columns)(const RK_ARGS *x, int batch, int start, int nb, int tallest) {
    const int K = x->columns, G = x->gates;
    RK_V totals[RK_COLUMN_ROWS * RK_MAX_COLUMNS];
    for (int r0 = 0; r0 < batch; r0 += RK_COLUMN_ROWS) {
        const int end = batch - r0 > RK_COLUMN_ROWS ? r0 + RK_COLUMN_ROWS : batch;
        for (int k0 = 0; k0 < K; k0 += RK_COLUMN_CHUNK) {
            const int k1 = K - k0 > RK_COLUMN_CHUNK ? k0 + RK_COLUMN_CHUNK : K;
            for (int b0 = r0; b0 < end;) {
                int mr = RK_FN(rk_rows_per_tile)(G, end - b0);
                if (mr > tallest) mr = tallest;
                RK_FN(rk_pick_part)(G, mr, nb)(x, b0, start, k0, k1, totals + (size_t)(b0 - r0) * nb * G);
                b0 += mr;
            }
        }
    }
}
#endif

static void RK_FN(rk_group)(const RK_ARGS *x, int batch, int start, int nb, int tallest) {
    const int K = x->columns, G = x->gates, blocks = (x->units + RK_VW - 1) / RK_VW;
#if RK_NARROW
    // LSTM and GRU single-row tiles over a panel larger than L1's share for it: columns outside
    // (rk_group_columns). Measured with tools/tile_bench.c (BENCHMARKS.md): 1.2–1.5× faster than their tiles with
    // the panel streaming from L2; the RNN's two-row tiles, which reuse each weight they load, are not.
    if (G >= 3 && batch > tallest && K > RK_KBLOCK && (size_t)nb * K * G * RK_VW * sizeof(RK_T) > (16 << 10)) {
        RK_FN(rk_group_columns)(x, batch, start, nb, tallest);
        return;
    }
#endif
    const int prefetch = (size_t)blocks * K * G * RK_VW * sizeof(RK_T) > RK_PREFETCH_BYTES;
    const RK_T *next = x->w + (size_t)(start + nb) * K * G * RK_VW;
    int tile = 0;
    for (int b0 = 0; b0 < batch; tile++) {
        int mr = RK_FN(rk_rows_per_tile)(x->gates, batch - b0);
        if (mr > tallest) mr = tallest;
        // Part `tile` of the next nb blocks' panels, when it exists.
        const int wanted = prefetch && tile < nb * G && (start + nb) * G + tile < blocks * G;
        RK_FN(rk_pick)(G, mr, nb)(x, b0, start, wanted ? next + (size_t)tile * K * RK_VW : 0);
        b0 += mr;
    }
}

/// The work items of part `part` of `parts` of a phase: groups of `wide` blocks (single blocks at the end of each
/// part). The blocks are cut into parts at multiples of `wide` where possible; some parts may be empty.
static void RK_FN(rk_items)(int gates, int batch, int blocks, int parts, int part, int *wide, int *first, int *span,
                            int *full, int *count) {
    *wide = RK_FN(rk_blocks_per_tile)(gates, RK_FN(rk_rows_per_tile)(gates, batch));
    int lower = 0, upper = blocks;
    if (parts > 1) {
        const int groups = (blocks + *wide - 1) / *wide;
        if (groups >= parts) {  // whole groups per part
            lower = (int)((long)groups * part / parts) * *wide;
            upper = (int)((long)groups * (part + 1) / parts) * *wide;
        } else {  // fewer groups than parts: single blocks
            lower = (int)((long)blocks * part / parts);
            upper = (int)((long)blocks * (part + 1) / parts);
        }
        if (lower > blocks) lower = blocks;
        if (upper > blocks) upper = blocks;
    }
    *first = lower;
    *span = upper - lower;
    *full = *span / *wide;
    *count = *full + (*span - *full * *wide);
}

/// How many pieces a part of `count` groups is cut into (see rk_phase): a few, more when each would hold more than
/// RK_PIECE_WORK multiply-adds (so that the thread that finishes first waits little for another's last piece).
static int RK_FN(rk_pieces)(int count, long work) {
    long pieces = work / RK_PIECE_WORK;
    if (pieces < RK_PIECES) pieces = RK_PIECES;
    return pieces < count ? (int)pieces : count;
}

/// The pieces of a phase shared by `parts` parts, all parts.
static int RK_FN(rk_item_count)(const RK_ARGS *x, int batch, int blocks, int parts) {
    int total = 0;
    for (int part = 0; part < parts; part++) {
        int wide, first, span, full, count;
        RK_FN(rk_items)(x->gates, batch, blocks, parts, part, &wide, &first, &span, &full, &count);
        total += RK_FN(rk_pieces)(count, (long)batch * x->columns * x->gates * span * RK_VW);
    }
    return total;
}

/// A phase (one step's cell update, or its projection). Alone, one part has every block. Shared, each part of the
/// blocks is cut into pieces (rk_pieces); member m takes the pieces of part m mod parts first (its weights stay in
/// its cache from step to step), then helps with the next parts in turn: when another thread is late (the machine
/// is shared), nobody waits for it beyond the piece it is working on. Few, large pieces: every claim moves a cache
/// line between cores.
static void RK_FN(rk_phase)(const RK_ARGS *x, int batch, int blocks, rk_schedule *schedule, int phase, int member) {
    const int tallest = RK_FN(rk_rows_per_tile)(x->gates, batch);
    const int parts = schedule ? rk_schedule_parts(schedule) : 1;
    for (int pass = 0; pass < parts; pass++) {
        const int part = (member + pass) % parts;
        int wide, first, span, full, count;
        RK_FN(rk_items)(x->gates, batch, blocks, parts, part, &wide, &first, &span, &full, &count);
        const int pieces = schedule ? RK_FN(rk_pieces)(count, (long)batch * x->columns * x->gates * span * RK_VW) : 1;
        for (int piece = 0;; piece++) {
            if (schedule) piece = rk_schedule_claim(schedule, phase, part);
            if (piece >= pieces) break;
            for (int i = piece * count / pieces; i < (piece + 1) * count / pieces; i++) {
                const int start = i < full ? first + i * wide : first + full * wide + (i - full);
                RK_FN(rk_group)(x, batch, start, i < full ? wide : 1, tallest);
            }
            if (schedule) rk_schedule_finish(schedule, phase);
        }
    }
}

void RK_CAT(RK_CAT(rk_project_, RK_SFX), RK_CAT(_, RK_ISA))(const RK_T *x, long ldx, int rows, int columns,
                                                             const RK_T *w, int units, RK_T *out, long ldout) {
    RK_ARGS a = {0};
    a.mode = RK_MODE_LINEAR;
    a.gates = 1;
    a.columns = columns;
    a.w = w;
    a.ldh = ldx;
    a.units = units;
    a.hidden = units;
    a.lddst = ldout;
    const int blocks = (units + RK_VW - 1) / RK_VW;
    // Rows a panel at a time, so that they stay in cache while every group of blocks goes through them.
    for (int r0 = 0; r0 < rows; r0 += 96) {
        const int n = rows - r0 < 96 ? rows - r0 : 96;
        const int tallest = RK_FN(rk_rows_per_tile)(1, n);
        const int wide = RK_FN(rk_blocks_per_tile)(1, tallest);
        a.h = x + (long)r0 * ldx;
        a.dst = out + (long)r0 * ldout;
        for (int block = 0; block < blocks;) {
            const int nb = blocks - block >= wide ? wide : 1;
            RK_FN(rk_group)(&a, n, block, nb, tallest);
            block += nb;
        }
    }
}

void RK_CAT(RK_CAT(rk_sequence_run_, RK_SFX), RK_CAT(_, RK_ISA))(const RK_SEQUENCE *s, int member,
                                                                  rk_schedule *schedule) {
    const int G = s->mode == RK_MODE_LSTM ? 4 : s->mode == RK_MODE_GRU ? 3 : 1;
    const int H = s->hidden_size, S = s->state_size, P = s->proj_size, B = s->batch;
    const int hidden_blocks = (H + RK_VW - 1) / RK_VW, proj_blocks = (P + RK_VW - 1) / RK_VW;
    const long padded = (long)hidden_blocks * RK_VW;
    const int parts = schedule ? rk_schedule_parts(schedule) : 1;

    RK_ARGS cell = {0}, projection = {0};
    cell.mode = s->mode;
    cell.gates = G;
    cell.columns = S;
    cell.w = s->w_hh;
    cell.bias_hh = s->b_hh;
    cell.bias_ih = s->b_ih;
    cell.ldh = S;
    cell.ldhp = S;
    cell.ldx = s->xproj_batch_stride;
    cell.units = H;
    cell.hidden = H;
    cell.c = s->c;
    cell.ldc = padded;
    cell.lengths = s->lengths;
    cell.ldout = s->output_batch_stride;
    if (P > 0) {
        cell.dst = s->h_full;  // o⊙tanh(c), before the projection
        cell.lddst = padded;
        cell.copy_inactive = 0;
        projection.mode = RK_MODE_LINEAR;
        projection.gates = 1;
        projection.columns = H;
        projection.w = s->w_hr;
        projection.bias_ih = s->b_ih;  // unused by the linear epilogue
        projection.h = s->h_full;
        projection.ldh = padded;
        projection.ldhp = S;
        projection.units = P;
        projection.hidden = P;
        projection.lddst = S;
        projection.ldout = s->output_batch_stride;
        projection.lengths = s->lengths;
        projection.copy_inactive = 1;
    } else {
        cell.lddst = S;
        cell.copy_inactive = 1;
    }
    // Phases in order; a phase starts when every item of the one before it is done.
    const int cell_items = RK_FN(rk_item_count)(&cell, B, hidden_blocks, parts);
    const int projection_items = P > 0 ? RK_FN(rk_item_count)(&projection, B, proj_blocks, parts) : 0;
    const int per_step = P > 0 ? 2 : 1;
    const int last = s->first_step + s->step_count;
    RK_T *current = s->first_step % 2 == 0 ? s->h_a : s->h_b, *next = s->first_step % 2 == 0 ? s->h_b : s->h_a;
    for (int step = s->first_step; step < last; step++) {
        const int t = s->reverse ? s->steps - 1 - step : step;
        const int phase = step * per_step;
        RK_T *out = s->output + (long)t * s->output_time_stride;
        cell.t = t;
        cell.h = current;
        cell.hprev = current;
        cell.xrow = s->xproj + (long)(t - s->xproj_first_time) * s->xproj_time_stride;
        if (P == 0) {
            cell.dst = next;
            cell.out = out;
        }
        if (schedule && phase > 0) rk_schedule_wait(schedule, phase - 1, P > 0 ? projection_items : cell_items);
        RK_FN(rk_phase)(&cell, B, hidden_blocks, schedule, phase, member);
        if (P > 0) {
            projection.t = t;
            projection.hprev = current;
            projection.dst = next;
            projection.out = out;
            if (schedule) rk_schedule_wait(schedule, phase, cell_items);
            RK_FN(rk_phase)(&projection, B, proj_blocks, schedule, phase + 1, member);
        }
        RK_T *swap = current;
        current = next;
        next = swap;
    }
    // Every member returns once all of the range's work is done (whoever did it); member 0 then writes the final
    // states.
    if (schedule) rk_schedule_wait(schedule, last * per_step - 1, P > 0 ? projection_items : cell_items);
    if (last < s->steps || member != 0) return;
    if (s->h_n) {
        for (long i = 0; i < (long)B * S; i++) s->h_n[i] = current[i];
    }
    if (s->mode == RK_MODE_LSTM && s->c_n) {
        for (int b = 0; b < B; b++) {
            for (int u = 0; u < H; u++) s->c_n[(long)b * H + u] = s->c[(long)b * padded + u];
        }
    }
}

#undef RK_FN
#undef RK_SEQUENCE
#undef RK_ARGS
#undef RK_MAX_COLUMNS
#undef RK_MAX_PAIRS
#undef RK_TILE
#undef RK_TILES
#undef RK_TILES_SHORT
#undef RK_TILES_TALL
#undef RK_PIECES
#undef RK_PIECE_WORK
#undef RK_PREFETCH_BYTES
