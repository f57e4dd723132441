// cvulkan.h: the Vulkan batch renderer. It runs the ray caster of raycast.h as one compute
// dispatch over every pixel of every environment and returns [N, H, W, 3] uint8 images, the same
// images the CPU renderer makes. Works on lavapipe (Vulkan on the CPU) and on real GPUs.
#ifndef CVULKAN_H
#define CVULKAN_H

#include <stdint.h>

#include "raycast.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rc_vulkan rc_vulkan;

// Creates a renderer for up to max_envs environments of at most max_prims primitives and
// width x height images. device_index < 0 picks the first GPU, else the first device (lavapipe);
// otherwise that index of vkEnumeratePhysicalDevices. NULL on failure with a message in `error`.
rc_vulkan *rc_vulkan_create(int max_envs, int max_prims, int width, int height, int device_index,
                            char *error, int error_size);

// Renders n_envs environments (same layout as rc_render_cpu) into out[n_envs, H, W, 3].
// Returns 0, or -1 with a message in `error`.
int rc_vulkan_render(rc_vulkan *r, const RcPrimitive *prims, const int32_t *counts,
                     const RcView *views, int n_envs, uint8_t *out, char *error, int error_size);

// Whether the device is a CPU implementation (lavapipe) rather than a GPU.
int rc_vulkan_device_is_cpu(const rc_vulkan *r);

// The physical device in use (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)").
const char *rc_vulkan_device_name(const rc_vulkan *r);

void rc_vulkan_destroy(rc_vulkan *r);

#ifdef __cplusplus
}
#endif
#endif
