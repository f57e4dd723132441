// Batch renderer: every invocation shades 4 consecutive pixels of the flattened [N, H, W] batch
// and writes their 12 RGB bytes as 3 whole words, so the output is the [N, H, W, 3] uint8 image
// batch itself, with no byte-level races. The shading is raycast.h, shared with the CPU renderer.
//
// Regenerate the embedded SPIR-V after editing this file or raycast.h: tools/build-shaders
#version 450
#extension GL_GOOGLE_include_directive : require
#define RC_GLSL
#include "raycast.h"

layout(local_size_x = 64) in;
layout(std430, binding = 1) readonly buffer Counts { int counts[]; };
layout(std430, binding = 2) readonly buffer Views { RcView views[]; };
layout(std430, binding = 3) writeonly buffer Pixels { uint pixels[]; };
layout(push_constant) uniform Params {
  int width;
  int height;
  int envs;
  int max_prims;
} params;

uint shade_bytes(uint p, uint total) {
  // Packs the pixel's colour into the low 24 bits (r, g, b).
  if (p >= total) return 0u;
  uint image = uint(params.width * params.height);
  int env = int(p / image);
  int rem = int(p % image);
  int y = rem / params.width;
  int x = rem % params.width;
  float u = (float(x) + 0.5f) / float(params.width) * 2.0f - 1.0f;
  float v = 1.0f - (float(y) + 0.5f) / float(params.height) * 2.0f;
  vec3 c = rc_shade(env * params.max_prims, counts[env], views[env], u, v);
  return uint(c.x * 255.0f + 0.5f) | (uint(c.y * 255.0f + 0.5f) << 8) | (uint(c.z * 255.0f + 0.5f) << 16);
}

void main() {
  uint group = gl_GlobalInvocationID.x;
  uint total = uint(params.width * params.height * params.envs);
  if (4u * group >= total) return;
  uint a = shade_bytes(4u * group, total);
  uint b = shade_bytes(4u * group + 1u, total);
  uint c = shade_bytes(4u * group + 2u, total);
  uint d = shade_bytes(4u * group + 3u, total);
  // Bytes: a.rgb b.rgb c.rgb d.rgb -> three little-endian words.
  pixels[3u * group] = a | (b << 24);
  pixels[3u * group + 1u] = (b >> 8) | (c << 16);
  pixels[3u * group + 2u] = (c >> 16) | (d << 8);
}
