// crender.h: the CPU renderer. Renders environments [env_begin, env_end) of a batch into
// out[N, H, W, 3] (uint8, row-major, top row first) with the ray caster in raycast.h.
#ifndef CRENDER_H
#define CRENDER_H

#include <stdint.h>

#include "raycast.h"

#ifdef __cplusplus
extern "C" {
#endif

// prims: [n_envs * max_prims] primitives (environment e owns slots e*max_prims ..< + counts[e]).
// views: [n_envs] cameras and lights.
void rc_render_cpu(const RcPrimitive *prims, const int32_t *counts, int max_prims,
                   const RcView *views, int width, int height, uint8_t *out, int env_begin,
                   int env_end);

#ifdef __cplusplus
}
#endif
#endif
