// raycast.h: the scene ray caster shared, line for line, by the CPU renderer (C, raycast_cpu.c)
// and the Vulkan compute kernel (GLSL, which includes this file with RC_GLSL defined). One source
// is what makes the two renderers produce the same images.
//
// Written in the common subset of C and GLSL: vector math goes through the macros below, which
// map to GLSL built-ins or to small C functions; primitives are read from `prims`, a parameter in
// C and the storage buffer in GLSL.
#ifndef RAYCAST_H
#define RAYCAST_H

#define RC_BOX 0
#define RC_SPHERE 1
#define RC_CYLINDER 2

#define RC_MISS 1.0e30f
#define RC_EPS 1.0e-4f
#define RC_SHADOW 0.4f  // direct light left in shadow

#ifdef RC_GLSL
#define RC_FN
#define RC_PRIMS_PARAM
#define RC_PRIMS_ARG
#define RC_INT(x) int(x)
#define V3(x, y, z) vec3(x, y, z)
#define V4(v, w) vec4(v, w)
#define V3ADD(a, b) ((a) + (b))
#define V3SUB(a, b) ((a) - (b))
#define V3MUL(a, b) ((a) * (b))
#define V3SCALE(a, s) ((a) * (s))
#define V3MIN(a, b) min(a, b)
#define V3MAX(a, b) max(a, b)
// Spelled out rather than dot()/normalize() so that GLSL rounds as the C code does.
#define V3DOT(a, b) ((a).x * (b).x + (a).y * (b).y + (a).z * (b).z)
#define V3NORM(a) ((a) * (1.0f / sqrt(V3DOT(a, a))))
#define XYZ(v) (v).xyz
#define RC_SQRT(x) sqrt(x)
#define RC_MIN(a, b) min(a, b)
#define RC_MAX(a, b) max(a, b)
#define RC_CLAMP01(x) clamp(x, 0.0f, 1.0f)
#else
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#define RC_FN static inline
#define RC_PRIMS_PARAM const RcPrimitive *prims,
#define RC_PRIMS_ARG prims,
#define RC_INT(x) ((int)(x))
typedef struct { float x, y, z; } vec3;
typedef struct { float x, y, z, w; } vec4;
RC_FN vec3 V3(float x, float y, float z) { vec3 r = {x, y, z}; return r; }
RC_FN vec4 V4(vec3 v, float w) { vec4 r = {v.x, v.y, v.z, w}; return r; }
RC_FN vec3 V3ADD(vec3 a, vec3 b) { return V3(a.x + b.x, a.y + b.y, a.z + b.z); }
RC_FN vec3 V3SUB(vec3 a, vec3 b) { return V3(a.x - b.x, a.y - b.y, a.z - b.z); }
RC_FN vec3 V3MUL(vec3 a, vec3 b) { return V3(a.x * b.x, a.y * b.y, a.z * b.z); }
RC_FN vec3 V3SCALE(vec3 a, float s) { return V3(a.x * s, a.y * s, a.z * s); }
RC_FN vec3 V3MIN(vec3 a, vec3 b) { return V3(fminf(a.x, b.x), fminf(a.y, b.y), fminf(a.z, b.z)); }
RC_FN vec3 V3MAX(vec3 a, vec3 b) { return V3(fmaxf(a.x, b.x), fmaxf(a.y, b.y), fmaxf(a.z, b.z)); }
RC_FN float V3DOT(vec3 a, vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
RC_FN vec3 V3NORM(vec3 a) { return V3SCALE(a, 1.0f / sqrtf(V3DOT(a, a))); }
RC_FN vec3 XYZ(vec4 v) { return V3(v.x, v.y, v.z); }
#define RC_SQRT(x) sqrtf(x)
#define RC_MIN(a, b) fminf(a, b)
#define RC_MAX(a, b) fmaxf(a, b)
#define RC_CLAMP01(x) fminf(fmaxf(x, 0.0f), 1.0f)
#endif

// One scene primitive in world space (std430-compatible: six vec4s).
// pos_type: xyz centre, w type (RC_*). axis0..2: columns of the world-from-local rotation.
// size: box half-extents; sphere radius in x; cylinder radius in x and half-height in y (local z);
//       size.w: radius of a sphere around the centre that contains the primitive (for culling).
// color: rgb albedo in [0, 1]; w > 0.5 means it casts no shadow (markers, table, floor).
struct RcPrimitive {
  vec4 pos_type;
  vec4 axis0;
  vec4 axis1;
  vec4 axis2;
  vec4 size;
  vec4 color;
};

// A pinhole camera and the light of one environment (std430-compatible: six vec4s).
// eye.w: image aspect (width / height). up_tan.w: tan(vertical fov / 2).
// light.xyz: unit direction towards the light, light.w: ambient fraction. light_color.xyz: colour.
struct RcView {
  vec4 eye;
  vec4 forward;
  vec4 right;
  vec4 up_tan;
  vec4 light;
  vec4 light_color;
};

#ifdef RC_GLSL
// The shader's primitive buffer, read by rc_shade as `prims` (a parameter in C).
layout(std430, binding = 0) readonly buffer Primitives { RcPrimitive prims[]; };
#else
typedef struct RcPrimitive RcPrimitive;
typedef struct RcView RcView;
#endif

// Nearest hit of the ray o + t d (d unit) with primitive p: (world normal, t), t = RC_MISS if none.
// Rays starting inside a primitive do not hit it.
RC_FN vec4 rc_intersect(RcPrimitive p, vec3 o, vec3 d) {
  vec3 a0 = XYZ(p.axis0);
  vec3 a1 = XYZ(p.axis1);
  vec3 a2 = XYZ(p.axis2);
  vec3 rel = V3SUB(o, XYZ(p.pos_type));
  vec3 lo = V3(V3DOT(a0, rel), V3DOT(a1, rel), V3DOT(a2, rel));  // origin, local frame
  vec3 ld = V3(V3DOT(a0, d), V3DOT(a1, d), V3DOT(a2, d));        // direction, local frame
  int type = RC_INT(p.pos_type.w);
  float t = RC_MISS;
  vec3 n = V3(0.0f, 0.0f, 1.0f);
  if (type == RC_BOX) {
    // Slabs: entry distance is the largest of the per-axis entries.
    vec3 h = XYZ(p.size);
    vec3 inv = V3(1.0f / (ld.x != 0.0f ? ld.x : 1.0e-20f), 1.0f / (ld.y != 0.0f ? ld.y : 1.0e-20f),
                  1.0f / (ld.z != 0.0f ? ld.z : 1.0e-20f));
    vec3 t1 = V3MUL(V3SUB(V3SCALE(h, -1.0f), lo), inv);
    vec3 t2 = V3MUL(V3SUB(h, lo), inv);
    vec3 tmin = V3MIN(t1, t2);
    vec3 tmax = V3MAX(t1, t2);
    float near = RC_MAX(RC_MAX(tmin.x, tmin.y), tmin.z);
    float far = RC_MIN(RC_MIN(tmax.x, tmax.y), tmax.z);
    if (near <= far && near > RC_EPS) {
      t = near;
      if (near == tmin.x) n = V3(ld.x > 0.0f ? -1.0f : 1.0f, 0.0f, 0.0f);
      else if (near == tmin.y) n = V3(0.0f, ld.y > 0.0f ? -1.0f : 1.0f, 0.0f);
      else n = V3(0.0f, 0.0f, ld.z > 0.0f ? -1.0f : 1.0f);
    }
  } else if (type == RC_SPHERE) {
    float r = p.size.x;
    float b = V3DOT(lo, ld);
    float c = V3DOT(lo, lo) - r * r;
    float disc = b * b - c;
    if (disc >= 0.0f) {
      float s = -b - RC_SQRT(disc);
      if (s > RC_EPS) {
        t = s;
        n = V3SCALE(V3ADD(lo, V3SCALE(ld, s)), 1.0f / r);
      }
    }
  } else {
    // Cylinder along local z: the side, then the cap facing the ray.
    float r = p.size.x;
    float hh = p.size.y;
    float a = ld.x * ld.x + ld.y * ld.y;
    float b = lo.x * ld.x + lo.y * ld.y;
    float c = lo.x * lo.x + lo.y * lo.y - r * r;
    float disc = b * b - a * c;
    if (a > 1.0e-12f && disc >= 0.0f) {
      float s = (-b - RC_SQRT(disc)) / a;
      float z = lo.z + s * ld.z;
      if (s > RC_EPS && z >= -hh && z <= hh) {
        t = s;
        n = V3((lo.x + s * ld.x) / r, (lo.y + s * ld.y) / r, 0.0f);
      }
    }
    if (ld.z != 0.0f) {
      float zc = ld.z < 0.0f ? hh : -hh;
      float s = (zc - lo.z) / ld.z;
      float px = lo.x + s * ld.x;
      float py = lo.y + s * ld.y;
      if (s > RC_EPS && s < t && px * px + py * py <= r * r) {
        t = s;
        n = V3(0.0f, 0.0f, zc > 0.0f ? 1.0f : -1.0f);
      }
    }
  }
  vec3 world = V3ADD(V3ADD(V3SCALE(a0, n.x), V3SCALE(a1, n.y)), V3SCALE(a2, n.z));
  return V4(world, t);
}

// Whether the ray certainly misses p, or only meets it beyond distance `best`: a test against the
// bounding sphere, far cheaper than the exact intersection that most rays would fail anyway.
RC_FN bool rc_culled(vec4 pos_type, float r, vec3 o, vec3 d, float best) {
  vec3 oc = V3SUB(o, XYZ(pos_type));
  float b = V3DOT(oc, d);
  float c = V3DOT(oc, oc) - r * r;
  float disc = b * b - c;
  if (disc < 0.0f) return true;
  return -b - RC_SQRT(disc) > best;
}

// Colour of the pixel at normalised image coordinates (u, v) in [-1, 1] (v up) of one
// environment whose primitives are prims[first ..< first + count].
RC_FN vec3 rc_shade(RC_PRIMS_PARAM int first, int count, RcView view, float u, float v) {
  float tan_half = view.up_tan.w;
  vec3 d = V3NORM(V3ADD(XYZ(view.forward),
                        V3ADD(V3SCALE(XYZ(view.right), u * tan_half * view.eye.w),
                              V3SCALE(XYZ(view.up_tan), v * tan_half))));
  vec3 o = XYZ(view.eye);
  float best = RC_MISS;
  vec3 normal = V3(0.0f, 0.0f, 1.0f);
  int hit = -1;
  for (int i = first; i < first + count; i++) {
    if (rc_culled(prims[i].pos_type, prims[i].size.w, o, d, best)) continue;
    vec4 r = rc_intersect(prims[i], o, d);
    if (r.w < best) {
      best = r.w;
      normal = XYZ(r);
      hit = i;
    }
  }
  if (hit < 0) {
    // Sky: a vertical gradient.
    float k = RC_CLAMP01(0.5f + 0.5f * d.z);
    return V3ADD(V3SCALE(V3(0.55f, 0.62f, 0.70f), 1.0f - k), V3SCALE(V3(0.80f, 0.86f, 0.93f), k));
  }
  vec3 light = XYZ(view.light);
  float ambient = view.light.w;
  float diffuse = RC_MAX(V3DOT(normal, light), 0.0f);
  float lit = 1.0f;
  if (diffuse > 0.0f) {
    vec3 p = V3ADD(V3ADD(o, V3SCALE(d, best)), V3SCALE(normal, 1.0e-3f));
    for (int j = first; j < first + count; j++) {
      if (prims[j].color.w < 0.5f && !rc_culled(prims[j].pos_type, prims[j].size.w, p, light, RC_MISS) &&
          rc_intersect(prims[j], p, light).w < RC_MISS) {
        lit = RC_SHADOW;
        break;
      }
    }
  }
  float shade = ambient + (1.0f - ambient) * diffuse * lit;
  vec3 c = V3MUL(V3SCALE(XYZ(prims[hit].color), shade), XYZ(view.light_color));
  return V3(RC_CLAMP01(c.x), RC_CLAMP01(c.y), RC_CLAMP01(c.z));
}

#endif
