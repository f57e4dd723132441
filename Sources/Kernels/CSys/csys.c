#define _GNU_SOURCE
#include "csys.h"

#include <errno.h>
#include <malloc.h>
#include <numa.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/socket.h>

void csys_line_buffered_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

static int list_cpus(const cpu_set_t *set, int *cpus, int capacity) {
  int n = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE && n < capacity; cpu++) {
    if (CPU_ISSET(cpu, set)) cpus[n++] = cpu;
  }
  return n;
}

int csys_allowed_cpus(int *cpus, int capacity) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return -errno;
  return list_cpus(&set, cpus, capacity);
}

int csys_pin_current_thread(const int *cpus, int count) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int i = 0; i < count; i++) {
    if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) return EINVAL;
    CPU_SET(cpus[i], &set);
  }
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

int csys_current_thread_cpus(int *cpus, int capacity) {
  cpu_set_t set;
  int rc = pthread_getaffinity_np(pthread_self(), sizeof set, &set);
  if (rc != 0) return -rc;
  return list_cpus(&set, cpus, capacity);
}

int csys_numa_nodes(void) {
  if (numa_available() < 0) return 0;
  return numa_max_node() + 1;
}

int csys_numa_node_of_cpu(int cpu) {
  if (cpu < 0 || cpu >= CPU_SETSIZE) return -1;
  if (numa_available() < 0) return 0;
  return numa_node_of_cpu(cpu);
}

int csys_numa_bind_current_thread(int node) {
  if (numa_available() < 0) return ENOSYS;
  if (node < 0 || node > numa_max_node()) return EINVAL;
  struct bitmask *mask = numa_allocate_nodemask();
  if (mask == NULL) return ENOMEM;
  numa_bitmask_setbit(mask, (unsigned)node);
  errno = 0;
  numa_set_membind(mask);  // reports failure through errno (and a message from libnuma)
  int rc = errno;
  numa_bitmask_free(mask);
  return rc;
}

void csys_limit_malloc_arenas(int count) { mallopt(M_ARENA_MAX, count); }

int csys_peer_credentials(int fd, int *pid, unsigned *uid, unsigned *gid) {
  struct ucred credentials;
  socklen_t length = sizeof credentials;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return errno;
  *pid = credentials.pid;
  *uid = credentials.uid;
  *gid = credentials.gid;
  return 0;
}

// libnuma reports failures by calling these (weak in libnuma) and printing; the pipeline reports
// them itself from the returned errno, so they stay quiet here.
void numa_error(char *where) { (void)where; }
void numa_warn(int number, char *where, ...) { (void)number; (void)where; }
