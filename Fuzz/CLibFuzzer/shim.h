// libFuzzer's driver (compiler-rt/lib/fuzzer/FuzzerInterface.h), for fuzz targets that provide their own main:
// SwiftPM renames every executable's entry point, so libFuzzer's main cannot be used. Declared only; the
// definition comes from libclang_rt.fuzzer, which -sanitize=fuzzer links.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
