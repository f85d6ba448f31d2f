// The kernels for any CPU, in the compiler's baseline instruction set (SSE2 on x86-64).
#include <math.h>
#include "kernels_internal.h"

#define RK_ISA generic
#define RK_HAS_RCP14 0
#define RK_HAS_FMA 0
#define RK_MAX_ROWS 2
#include "kernels_isa.h"
