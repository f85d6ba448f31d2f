#ifndef RNN_CHDF5_SHIM_H
#define RNN_CHDF5_SHIM_H
// The parts of libhdf5 that Swift cannot import directly: constants that are C macros (casts or
// references to global ids behind H5OPEN) and calls whose name or struct changed between 1.10 and 1.12+.
// Everything here is a one-line static inline function; the Swift layer in TensorIO/HDF5 owns every handle.
#include <hdf5.h>
#include <H5PLpublic.h>
#include <string.h>

static inline hid_t rnn_h5p_default(void) { return H5P_DEFAULT; }

/// Opens `size` bytes at `image` as a read-only HDF5 file named `name` (the core driver over a file image; the
/// library keeps its own copy). Returns the file, or a negative id.
static inline hid_t rnn_h5f_open_image(const void *image, size_t size, const char *name) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return fapl;
    hid_t file = -1;
    if (H5Pset_fapl_core(fapl, 1 << 20, 0) >= 0 && H5Pset_file_image(fapl, (void *)image, size) >= 0) {
        file = H5Fopen(name, H5F_ACC_RDONLY, fapl);
    }
    H5Pclose(fapl);
    return file;
}
static inline hid_t rnn_h5s_all(void) { return H5S_ALL; }
static inline hid_t rnn_h5e_default(void) { return H5E_DEFAULT; }
static inline unsigned rnn_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned rnn_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline size_t rnn_h5t_variable(void) { return H5T_VARIABLE; }
static inline haddr_t rnn_haddr_undef(void) { return HADDR_UNDEF; }

static inline hid_t rnn_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t rnn_h5p_file_create(void) { return H5P_FILE_CREATE; }
static inline hid_t rnn_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t rnn_h5p_link_create(void) { return H5P_LINK_CREATE; }
static inline hid_t rnn_h5p_group_create(void) { return H5P_GROUP_CREATE; }

static inline hid_t rnn_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t rnn_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t rnn_h5t_native_int8(void) { return H5T_NATIVE_INT8; }
static inline hid_t rnn_h5t_native_int16(void) { return H5T_NATIVE_INT16; }
static inline hid_t rnn_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t rnn_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t rnn_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t rnn_h5t_native_uint16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t rnn_h5t_native_uint32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t rnn_h5t_native_uint64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t rnn_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t rnn_h5t_ieee_f64le(void) { return H5T_IEEE_F64LE; }
static inline hid_t rnn_h5t_std_i8le(void) { return H5T_STD_I8LE; }
static inline hid_t rnn_h5t_std_i16le(void) { return H5T_STD_I16LE; }
static inline hid_t rnn_h5t_std_i32le(void) { return H5T_STD_I32LE; }
static inline hid_t rnn_h5t_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t rnn_h5t_std_u8le(void) { return H5T_STD_U8LE; }
static inline hid_t rnn_h5t_std_u16le(void) { return H5T_STD_U16LE; }
static inline hid_t rnn_h5t_std_u32le(void) { return H5T_STD_U32LE; }
static inline hid_t rnn_h5t_std_u64le(void) { return H5T_STD_U64LE; }
static inline hid_t rnn_h5t_c_s1(void) { return H5T_C_S1; }

/// The kind of the link `name` in `group`: 0 hard, 1 soft, 2 external, 3 other, -1 on error.
static inline int rnn_h5_link_kind(hid_t group, const char *name) {
#if H5_VERSION_GE(1, 12, 0)
    H5L_info2_t info;
    if (H5Lget_info2(group, name, &info, H5P_DEFAULT) < 0) return -1;
#else
    H5L_info_t info;
    if (H5Lget_info(group, name, &info, H5P_DEFAULT) < 0) return -1;
#endif
    switch (info.type) {
    case H5L_TYPE_HARD: return 0;
    case H5L_TYPE_SOFT: return 1;
    case H5L_TYPE_EXTERNAL: return 2;
    default: return 3;
    }
}

/// A key that identifies an open object within its file (its header address), for cycle detection.
static inline int rnn_h5_object_key(hid_t object, unsigned long long *key) {
#if H5_VERSION_GE(1, 12, 0)
    H5O_info2_t info;
    if (H5Oget_info3(object, &info, H5O_INFO_BASIC) < 0) return -1;
    unsigned long long value = 0;
    memcpy(&value, &info.token, sizeof value < sizeof info.token ? sizeof value : sizeof info.token);
    *key = value;
#else
    H5O_info_t info;
    if (H5Oget_info2(object, &info, H5O_INFO_BASIC) < 0) return -1;
    *key = (unsigned long long)info.addr;
#endif
    return 0;
}

/// The number of attributes attached to `object`, or -1 on error.
static inline long long rnn_h5_attribute_count(hid_t object) {
#if H5_VERSION_GE(1, 12, 0)
    H5O_info2_t info;
    if (H5Oget_info3(object, &info, H5O_INFO_NUM_ATTRS) < 0) return -1;
#else
    H5O_info_t info;
    if (H5Oget_info2(object, &info, H5O_INFO_NUM_ATTRS) < 0) return -1;
#endif
    return (long long)info.num_attrs;
}

/// One entry of the error stack, handed to the callback from innermost to outermost.
typedef void (*rnn_h5_error_sink)(void *context, const char *function, const char *major,
                                   const char *minor, const char *description);

typedef struct { rnn_h5_error_sink sink; void *context; } rnn_h5_error_walk_data;

static inline herr_t rnn_h5_error_walk_step(unsigned n, const H5E_error2_t *entry, void *data) {
    (void)n;
    rnn_h5_error_walk_data *walk = (rnn_h5_error_walk_data *)data;
    char major[160] = {0}, minor[160] = {0};
    H5Eget_msg(entry->maj_num, NULL, major, sizeof major);
    H5Eget_msg(entry->min_num, NULL, minor, sizeof minor);
    walk->sink(walk->context, entry->func_name ? entry->func_name : "", major, minor,
               entry->desc ? entry->desc : "");
    return 0;
}

/// Walks the current thread's error stack (innermost entry first), then clears it.
static inline void rnn_h5_drain_errors(rnn_h5_error_sink sink, void *context) {
    rnn_h5_error_walk_data walk = { sink, context };
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, rnn_h5_error_walk_step, &walk);
    H5Eclear2(H5E_DEFAULT);
}

/// Stops libhdf5 from printing its error stack and from loading filter plugins named by a file.
static inline void rnn_h5_quiet_and_closed(void) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    H5PLset_loading_state(0);
}
#endif
