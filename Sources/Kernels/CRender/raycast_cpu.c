// The CPU renderer: the shared ray caster run over every pixel of a range of environments.
#include "crender.h"

void rc_render_cpu(const RcPrimitive *prims, const int32_t *counts, int max_prims,
                   const RcView *views, int width, int height, uint8_t *out, int env_begin,
                   int env_end) {
  for (int env = env_begin; env < env_end; env++) {
    uint8_t *image = out + (int64_t)env * width * height * 3;
    for (int y = 0; y < height; y++) {
      float v = 1.0f - ((float)y + 0.5f) / (float)height * 2.0f;
      for (int x = 0; x < width; x++) {
        float u = ((float)x + 0.5f) / (float)width * 2.0f - 1.0f;
        vec3 c = rc_shade(prims, env * max_prims, counts[env], views[env], u, v);
        uint8_t *pixel = image + ((int64_t)y * width + x) * 3;
        pixel[0] = (uint8_t)(c.x * 255.0f + 0.5f);
        pixel[1] = (uint8_t)(c.y * 255.0f + 0.5f);
        pixel[2] = (uint8_t)(c.z * 255.0f + 0.5f);
      }
    }
  }
}
