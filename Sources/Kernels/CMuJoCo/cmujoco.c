// Loading from strings and error-safe stepping for MuJoCo.
#include "cmujoco.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local jmp_buf *armed_jump;
static _Thread_local char last_error[512];

// MuJoCo requires an error handler not to return: jump back into cmj_step when one is armed on
// this thread; otherwise (a bug outside stepping) report and abort like the default would.
static void on_error(const char *message) {
  snprintf(last_error, sizeof last_error, "%s", message);
  if (armed_jump) longjmp(*armed_jump, 1);
  fprintf(stderr, "MuJoCo fatal error: %s\n", message);
  abort();
}

// Warnings (unstable simulation, contact buffer full) are counted in mjData.warning, which the
// simulator checks after each step; printing them from worker threads would only add noise.
static void on_warning(const char *message) { (void)message; }

static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;
static void install_handlers(void) {
  mju_user_error = on_error;
  mju_user_warning = on_warning;
}

const char *cmj_last_error(void) { return last_error; }

int cmj_unstable(const mjData *d) {
  return d->warning[mjWARN_BADQPOS].number + d->warning[mjWARN_BADQVEL].number +
             d->warning[mjWARN_BADQACC].number > 0;
}

mjModel *cmj_load_xml_string(const char *xml, char *error, int error_size) {
  pthread_once(&handlers_once, install_handlers);
  mjVFS *vfs = malloc(sizeof(mjVFS));  // about 2 MB: not for the stack
  if (!vfs) {
    snprintf(error, error_size, "out of memory for the MuJoCo VFS");
    return NULL;
  }
  mj_defaultVFS(vfs);
  int size = (int)strlen(xml);
  mjModel *model = NULL;
  if (mj_makeEmptyFileVFS(vfs, "scene.xml", size) != 0) {
    snprintf(error, error_size, "cannot create the in-memory scene file");
  } else {
    memcpy(vfs->filedata[vfs->nfile - 1], xml, size);
    model = mj_loadXML("scene.xml", vfs, error, error_size);
  }
  mj_deleteVFS(vfs);
  free(vfs);
  return model;
}

int cmj_step(const mjModel *m, mjData *d, int substeps) {
  pthread_once(&handlers_once, install_handlers);
  jmp_buf jump;
  jmp_buf *previous = armed_jump;
  if (setjmp(jump) != 0) {
    armed_jump = previous;
    return -1;
  }
  armed_jump = &jump;
  for (int i = 0; i < substeps; i++) mj_step(m, d);
  armed_jump = previous;
  return 0;
}
