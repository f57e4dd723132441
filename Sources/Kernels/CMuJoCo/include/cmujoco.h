// cmujoco.h: MuJoCo's C API (Debian libmujoco-dev) plus the few helpers Swift cannot write
// itself: loading a model from an XML string, and stepping with MuJoCo's fatal-error handler
// turned into an error return (its default handler exits the process).
#ifndef CMUJOCO_H
#define CMUJOCO_H

#include <mujoco/mujoco.h>

#ifdef __cplusplus
extern "C" {
#endif

// Compiles an MJCF document held in memory. NULL on failure, with MuJoCo's message in `error`.
mjModel *cmj_load_xml_string(const char *xml, char *error, int error_size);

// Runs `substeps` calls of mj_step. Returns 0, or -1 when MuJoCo raised a fatal error (message in
// cmj_last_error()); the data is then unusable until reset.
int cmj_step(const mjModel *m, mjData *d, int substeps);

// Whether MuJoCo found the state unstable since the last reset (bad qpos, qvel or qacc: it then
// resets the data itself and counts a warning).
int cmj_unstable(const mjData *d);

// The message of the last fatal MuJoCo error on this thread.
const char *cmj_last_error(void);

#ifdef __cplusplus
}
#endif
#endif
