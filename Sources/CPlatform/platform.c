#define _GNU_SOURCE
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int rnn_rename_noreplace(const char *from, const char *to) {
#ifdef SYS_renameat2
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int rnn_memory_file(const char *name) {
    return memfd_create(name, MFD_CLOEXEC);
}

int rnn_die_with_parent(int signal) {
    return prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0);
}

#include <signal.h>
#include <spawn.h>

extern char **environ;

pid_t rnn_spawn_worker(char *const argv[], int input_fd, int result_fd, int report_fd) {
    // Move the three descriptors above any number the file actions write to, so that no dup2 clobbers another.
    int in = fcntl(input_fd, F_DUPFD_CLOEXEC, 10);
    int out = fcntl(result_fd, F_DUPFD_CLOEXEC, 10);
    int report = fcntl(report_fd, F_DUPFD_CLOEXEC, 10);
    pid_t pid = -1;
    int failure = 0;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    if (in < 0 || out < 0 || report < 0) { failure = errno; goto done; }
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
    posix_spawn_file_actions_adddup2(&actions, in, 3);
    posix_spawn_file_actions_adddup2(&actions, out, 4);
    posix_spawn_file_actions_adddup2(&actions, report, 1);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    posix_spawn_file_actions_addclosefrom_np(&actions, 5);
#endif
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attributes, &empty);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    failure = posix_spawn(&pid, argv[0], &actions, &attributes, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (failure != 0) pid = -1;
done:
    if (in >= 0) close(in);
    if (out >= 0) close(out);
    if (report >= 0) close(report);
    if (pid < 0) errno = failure;
    return pid;
}

int rnn_pipe(int ends[2]) {
    return pipe2(ends, O_CLOEXEC);
}
