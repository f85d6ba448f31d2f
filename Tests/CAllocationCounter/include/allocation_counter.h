#ifndef RNN_ALLOCATION_COUNTER_H
#define RNN_ALLOCATION_COUNTER_H
// Counts the heap allocations the calling thread makes between allocation_counter_start and
// allocation_counter_stop, by interposing malloc, calloc, realloc and the aligned allocators in the test
// executable (glibc's own implementations do the work). Other threads are not counted, so tests that run at the
// same time do not disturb the count.
//
// Unavailable (allocation_counter_available returns 0) under the address sanitizer, which interposes the same
// functions itself.

// 1 when allocations are counted in this build.
int allocation_counter_available(void);
// Starts counting this thread's allocations from zero.
void allocation_counter_start(void);
// Stops counting; returns the allocations this thread made since allocation_counter_start.
long allocation_counter_stop(void);

#endif
