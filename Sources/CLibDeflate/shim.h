#ifndef RNN_CLIBDEFLATE_SHIM_H
#define RNN_CLIBDEFLATE_SHIM_H
// libdeflate (Debian: libdeflate-dev): whole-buffer raw deflate and a CRC-32 several times faster than zlib's.
#include <libdeflate.h>
#endif
