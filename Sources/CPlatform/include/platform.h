// Linux system calls that Swift's Glibc module does not show (they need _GNU_SOURCE), as plain C functions.
#ifndef RNN_PLATFORM_H
#define RNN_PLATFORM_H

/// Renames `from` to `to` only if `to` does not exist (renameat2 with RENAME_NOREPLACE). Returns 0, or -1 with
/// errno set: EEXIST when `to` exists; EINVAL or ENOSYS when the file system or kernel cannot do it.
int rnn_rename_noreplace(const char *from, const char *to);

/// An anonymous file in memory (memfd_create, close-on-exec): nothing in /dev/shm to remove. Returns the
/// descriptor, or -1 with errno set.
int rnn_memory_file(const char *name);

/// Asks the kernel to send `signal` to this process when its parent thread exits (PR_SET_PDEATHSIG). Returns 0
/// or -1 with errno set.
int rnn_die_with_parent(int signal);

#endif

#include <sys/types.h>

/// Starts `argv[0]` (a path) with `argv` as a worker process: `input_fd` becomes its descriptor 3 and
/// `result_fd` its descriptor 4, `report_fd` its standard output, /dev/null its standard input and error; every
/// other descriptor is closed in it, its signal mask is empty and SIGINT, SIGTERM and SIGPIPE have their default
/// actions (the caller may ignore them). Returns the child's pid, or -1 with errno set. Uses posix_spawn, which
/// is safe in a multi-threaded process.
pid_t rnn_spawn_worker(char *const argv[], int input_fd, int result_fd, int report_fd);

/// A pipe whose both ends are close-on-exec from the start (pipe2 with O_CLOEXEC). Returns 0 or -1.
int rnn_pipe(int ends[2]);
