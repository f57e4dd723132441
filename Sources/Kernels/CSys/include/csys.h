// csys.h: small system helpers for the Swift side: process and terminal plumbing, and the CPU
// affinity and NUMA calls the pipeline's stage threads use (glibc's CPU_SET and libnuma's bitmasks
// are macros and opaque structs that Swift cannot use directly).
#ifndef CSYS_H
#define CSYS_H

#ifdef __cplusplus
extern "C" {
#endif

// Makes stdout line-buffered, so progress lines reach a log file or pipe as they are printed.
// (Swift 6 cannot touch C's `stdout` global from its own code.)
void csys_line_buffered_stdout(void);

// The CPUs this process may run on (its affinity mask), ascending, at most `capacity` of them.
// Returns how many were written, or -errno.
int csys_allowed_cpus(int *cpus, int capacity);

// Pins the calling thread to `count` CPUs. Returns 0 or an errno value.
int csys_pin_current_thread(const int *cpus, int count);

// The CPUs the calling thread may run on, like csys_allowed_cpus.
int csys_current_thread_cpus(int *cpus, int capacity);

// NUMA nodes usable through libnuma: 0 where the kernel or container offers no NUMA calls.
int csys_numa_nodes(void);

// The NUMA node of a CPU (0 where NUMA is unavailable), or -1 for a CPU that does not exist.
int csys_numa_node_of_cpu(int cpu);

// Binds the calling thread's future memory allocations to one NUMA node (MPOL_BIND).
// Returns 0 or an errno value (ENOSYS where NUMA is unavailable).
int csys_numa_bind_current_thread(int node);

// Caps glibc's malloc arenas (mallopt M_ARENA_MAX). A daemon with many threads otherwise grows
// one arena per thread and its resident memory creeps up with fragmentation over days.
void csys_limit_malloc_arenas(int count);

// The credentials of a Unix socket's peer (SO_PEERCRED). Returns 0 or an errno value.
int csys_peer_credentials(int fd, int *pid, unsigned *uid, unsigned *gid);

// Writes `count` files into the directory `dirfd` with io_uring: each created (mode 0644,
// truncated), written in full (short writes resubmitted), fsynced and closed. Falls back to
// pwrite/fsync where the kernel or a seccomp filter refuses io_uring; *used_uring says which ran.
// Returns 0, or -errno of the first failure with the failing file's index in *failed_index
// (files already written stay; the caller removes the directory).
int csys_write_files(int dirfd, const char *const *names, const void *const *data, const unsigned long *lengths,
                     int count, int *used_uring, int *failed_index);

#ifdef __cplusplus
}
#endif
#endif
