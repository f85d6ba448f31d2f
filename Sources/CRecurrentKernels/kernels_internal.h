#ifndef RNN_KERNELS_INTERNAL_H
#define RNN_KERNELS_INTERNAL_H
// The per-instruction-set entry points behind rk_sequence_run_* and rk_project_*; dispatch.c picks one at run time.
#include "recurrent_kernels.h"

#define RK_DECLARE(isa)                                                                                       \
    void rk_sequence_run_f32_##isa(const rk_sequence_f32 *, int, rk_schedule *);                        \
    void rk_sequence_run_f64_##isa(const rk_sequence_f64 *, int, rk_schedule *);                        \
    void rk_project_f32_##isa(const float *, long, int, int, const float *, int, float *, long);             \
    void rk_project_f64_##isa(const double *, long, int, int, const double *, int, double *, long);

RK_DECLARE(generic)
#if defined(__x86_64__)
RK_DECLARE(avx512)
RK_DECLARE(avx2)
#endif
#undef RK_DECLARE

#endif
