// Loads the SentencePiece shim library into a private symbol scope (see spm_api.h for why).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spm_api.h"

static const char library_name[] = "librlinf-sentencepiece.so";
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const spm_api *table;
static char load_error[1024];

static void *try_open(const char *directory) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", directory, library_name);
  return dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
}

static void *open_library(void) {
  const char *explicit_path = getenv("RLINF_SENTENCEPIECE_LIB");
  if (explicit_path && *explicit_path) return dlopen(explicit_path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = 0;
    void *handle = try_open(dirname(exe));
    if (handle) return handle;
  }
  Dl_info self;
  if (dladdr((void *)open_library, &self) && self.dli_fname) {
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", self.dli_fname);
    return try_open(dirname(copy));
  }
  return NULL;
}

const spm_api *spm_open(char *error, int error_size) {
  pthread_mutex_lock(&lock);
  if (!table && !load_error[0]) {
    void *handle = open_library();
    if (!handle) {
      snprintf(load_error, sizeof load_error,
               "cannot load %s (%s): build it with `swift build --product rlinf-sentencepiece` "
               "or point RLINF_SENTENCEPIECE_LIB at it", library_name, dlerror());
    } else {
      const spm_api *(*entry)(void) = (const spm_api *(*)(void))dlsym(handle, "spm_api_table");
      if (entry) table = entry();
      else snprintf(load_error, sizeof load_error, "%s has no spm_api_table", library_name);
    }
  }
  const spm_api *result = table;
  if (!result) snprintf(error, (size_t)error_size, "%s", load_error);
  pthread_mutex_unlock(&lock);
  return result;
}
