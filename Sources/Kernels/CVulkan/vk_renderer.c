// Vulkan host side of the batch renderer: one instance, device, compute pipeline and four
// host-visible storage buffers (primitives, counts, views, pixels), all created once; each render
// copies the scene in, records one dispatch, waits for it and copies the pixels out.
#include "cvulkan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vulkan/vulkan.h>

#include "render_spv.h"

enum { BUFFER_PRIMS, BUFFER_COUNTS, BUFFER_VIEWS, BUFFER_PIXELS, BUFFER_COUNT };

struct rc_vulkan {
  VkInstance instance;
  VkPhysicalDevice physical;
  VkDevice device;
  VkQueue queue;
  uint32_t queue_family;
  VkBuffer buffers[BUFFER_COUNT];
  VkDeviceMemory memory[BUFFER_COUNT];
  void *mapped[BUFFER_COUNT];
  VkDeviceSize sizes[BUFFER_COUNT];
  VkShaderModule shader;
  VkDescriptorSetLayout set_layout;
  VkPipelineLayout pipeline_layout;
  VkPipeline pipeline;
  VkDescriptorPool pool;
  VkDescriptorSet set;
  VkCommandPool command_pool;
  VkCommandBuffer commands;
  VkFence fence;
  int max_envs, max_prims, width, height;
  int is_cpu;
  char device_name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
};

static void fail(char *error, int size, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(error, (size_t)size, format, args);
  va_end(args);
}

#define CHECK(call, what)                                                    \
  do {                                                                       \
    VkResult result_ = (call);                                               \
    if (result_ != VK_SUCCESS) {                                             \
      fail(error, error_size, "Vulkan: %s failed (VkResult %d)", what, result_); \
      goto failed;                                                           \
    }                                                                        \
  } while (0)

static int pick_device(rc_vulkan *r, int device_index, char *error, int error_size) {
  uint32_t count = 0;
  vkEnumeratePhysicalDevices(r->instance, &count, NULL);
  if (count == 0) {
    fail(error, error_size, "Vulkan: no physical device (install mesa-vulkan-drivers for lavapipe)");
    return -1;
  }
  VkPhysicalDevice devices[16];
  if (count > 16) count = 16;
  vkEnumeratePhysicalDevices(r->instance, &count, devices);
  if (device_index >= (int)count) {
    fail(error, error_size, "Vulkan: device %d requested, %u present", device_index, count);
    return -1;
  }
  int chosen = device_index;
  if (chosen < 0) {
    chosen = 0;
    for (uint32_t i = 0; i < count; i++) {
      VkPhysicalDeviceProperties p;
      vkGetPhysicalDeviceProperties(devices[i], &p);
      if (p.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU ||
          p.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU) {
        chosen = (int)i;
        break;
      }
    }
  }
  r->physical = devices[chosen];
  VkPhysicalDeviceProperties properties;
  vkGetPhysicalDeviceProperties(r->physical, &properties);
  snprintf(r->device_name, sizeof r->device_name, "%s", properties.deviceName);
  r->is_cpu = properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;

  uint32_t families = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(r->physical, &families, NULL);
  VkQueueFamilyProperties family_properties[16];
  if (families > 16) families = 16;
  vkGetPhysicalDeviceQueueFamilyProperties(r->physical, &families, family_properties);
  for (uint32_t i = 0; i < families; i++) {
    if (family_properties[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
      r->queue_family = i;
      return 0;
    }
  }
  fail(error, error_size, "Vulkan: device %s has no compute queue", r->device_name);
  return -1;
}

static int create_buffer(rc_vulkan *r, int which, VkDeviceSize size, char *error, int error_size) {
  VkBufferCreateInfo info = {
      .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
      .size = size,
      .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
      .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };
  CHECK(vkCreateBuffer(r->device, &info, NULL, &r->buffers[which]), "vkCreateBuffer");
  VkMemoryRequirements needs;
  vkGetBufferMemoryRequirements(r->device, r->buffers[which], &needs);
  VkPhysicalDeviceMemoryProperties memory;
  vkGetPhysicalDeviceMemoryProperties(r->physical, &memory);
  const VkMemoryPropertyFlags wanted =
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  uint32_t type = UINT32_MAX;
  for (uint32_t i = 0; i < memory.memoryTypeCount; i++) {
    if ((needs.memoryTypeBits & (1u << i)) && (memory.memoryTypes[i].propertyFlags & wanted) == wanted) {
      type = i;
      break;
    }
  }
  if (type == UINT32_MAX) {
    fail(error, error_size, "Vulkan: no host-visible coherent memory on %s", r->device_name);
    return -1;
  }
  VkMemoryAllocateInfo allocate = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
      .allocationSize = needs.size,
      .memoryTypeIndex = type,
  };
  CHECK(vkAllocateMemory(r->device, &allocate, NULL, &r->memory[which]), "vkAllocateMemory");
  CHECK(vkBindBufferMemory(r->device, r->buffers[which], r->memory[which], 0), "vkBindBufferMemory");
  CHECK(vkMapMemory(r->device, r->memory[which], 0, size, 0, &r->mapped[which]), "vkMapMemory");
  r->sizes[which] = size;
  return 0;
failed:
  return -1;
}

rc_vulkan *rc_vulkan_create(int max_envs, int max_prims, int width, int height, int device_index,
                            char *error, int error_size) {
  rc_vulkan *r = calloc(1, sizeof *r);
  if (!r) {
    fail(error, error_size, "out of memory");
    return NULL;
  }
  r->max_envs = max_envs;
  r->max_prims = max_prims;
  r->width = width;
  r->height = height;

  VkApplicationInfo app = {
      .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
      .pApplicationName = "rlinf-swift",
      .apiVersion = VK_API_VERSION_1_1,
  };
  VkInstanceCreateInfo instance_info = {
      .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
      .pApplicationInfo = &app,
  };
  CHECK(vkCreateInstance(&instance_info, NULL, &r->instance), "vkCreateInstance (is a Vulkan driver installed?)");
  if (pick_device(r, device_index, error, error_size) != 0) goto failed;

  float priority = 1.0f;
  VkDeviceQueueCreateInfo queue_info = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
      .queueFamilyIndex = r->queue_family,
      .queueCount = 1,
      .pQueuePriorities = &priority,
  };
  VkDeviceCreateInfo device_info = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
      .queueCreateInfoCount = 1,
      .pQueueCreateInfos = &queue_info,
  };
  CHECK(vkCreateDevice(r->physical, &device_info, NULL, &r->device), "vkCreateDevice");
  vkGetDeviceQueue(r->device, r->queue_family, 0, &r->queue);

  // Pixels: 12 bytes per 4 pixels, rounded up to whole words.
  VkDeviceSize pixels = (VkDeviceSize)max_envs * width * height;
  VkDeviceSize sizes[BUFFER_COUNT] = {
      (VkDeviceSize)max_envs * max_prims * sizeof(RcPrimitive),
      (VkDeviceSize)max_envs * sizeof(int32_t),
      (VkDeviceSize)max_envs * sizeof(RcView),
      ((pixels + 3) / 4) * 12,
  };
  for (int i = 0; i < BUFFER_COUNT; i++) {
    if (create_buffer(r, i, sizes[i], error, error_size) != 0) goto failed;
  }

  VkShaderModuleCreateInfo shader_info = {
      .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
      .codeSize = sizeof rc_render_spv,
      .pCode = rc_render_spv,
  };
  CHECK(vkCreateShaderModule(r->device, &shader_info, NULL, &r->shader), "vkCreateShaderModule");

  VkDescriptorSetLayoutBinding bindings[BUFFER_COUNT];
  for (int i = 0; i < BUFFER_COUNT; i++) {
    bindings[i] = (VkDescriptorSetLayoutBinding){
        .binding = (uint32_t)i,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .descriptorCount = 1,
        .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
  }
  VkDescriptorSetLayoutCreateInfo set_info = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
      .bindingCount = BUFFER_COUNT,
      .pBindings = bindings,
  };
  CHECK(vkCreateDescriptorSetLayout(r->device, &set_info, NULL, &r->set_layout), "vkCreateDescriptorSetLayout");
  VkPushConstantRange push = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = 4 * sizeof(int32_t)};
  VkPipelineLayoutCreateInfo layout_info = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
      .setLayoutCount = 1,
      .pSetLayouts = &r->set_layout,
      .pushConstantRangeCount = 1,
      .pPushConstantRanges = &push,
  };
  CHECK(vkCreatePipelineLayout(r->device, &layout_info, NULL, &r->pipeline_layout), "vkCreatePipelineLayout");
  VkComputePipelineCreateInfo pipeline_info = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage = {
          .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
          .stage = VK_SHADER_STAGE_COMPUTE_BIT,
          .module = r->shader,
          .pName = "main",
      },
      .layout = r->pipeline_layout,
  };
  CHECK(vkCreateComputePipelines(r->device, VK_NULL_HANDLE, 1, &pipeline_info, NULL, &r->pipeline), "vkCreateComputePipelines");

  VkDescriptorPoolSize pool_size = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = BUFFER_COUNT};
  VkDescriptorPoolCreateInfo pool_info = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
      .maxSets = 1,
      .poolSizeCount = 1,
      .pPoolSizes = &pool_size,
  };
  CHECK(vkCreateDescriptorPool(r->device, &pool_info, NULL, &r->pool), "vkCreateDescriptorPool");
  VkDescriptorSetAllocateInfo set_allocate = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
      .descriptorPool = r->pool,
      .descriptorSetCount = 1,
      .pSetLayouts = &r->set_layout,
  };
  CHECK(vkAllocateDescriptorSets(r->device, &set_allocate, &r->set), "vkAllocateDescriptorSets");
  VkDescriptorBufferInfo buffer_infos[BUFFER_COUNT];
  VkWriteDescriptorSet writes[BUFFER_COUNT];
  for (int i = 0; i < BUFFER_COUNT; i++) {
    buffer_infos[i] = (VkDescriptorBufferInfo){.buffer = r->buffers[i], .range = VK_WHOLE_SIZE};
    writes[i] = (VkWriteDescriptorSet){
        .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
        .dstSet = r->set,
        .dstBinding = (uint32_t)i,
        .descriptorCount = 1,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .pBufferInfo = &buffer_infos[i],
    };
  }
  vkUpdateDescriptorSets(r->device, BUFFER_COUNT, writes, 0, NULL);

  VkCommandPoolCreateInfo command_pool_info = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
      .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
      .queueFamilyIndex = r->queue_family,
  };
  CHECK(vkCreateCommandPool(r->device, &command_pool_info, NULL, &r->command_pool), "vkCreateCommandPool");
  VkCommandBufferAllocateInfo command_info = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
      .commandPool = r->command_pool,
      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
      .commandBufferCount = 1,
  };
  CHECK(vkAllocateCommandBuffers(r->device, &command_info, &r->commands), "vkAllocateCommandBuffers");
  VkFenceCreateInfo fence_info = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  CHECK(vkCreateFence(r->device, &fence_info, NULL, &r->fence), "vkCreateFence");
  return r;

failed:
  rc_vulkan_destroy(r);
  return NULL;
}

int rc_vulkan_render(rc_vulkan *r, const RcPrimitive *prims, const int32_t *counts,
                     const RcView *views, int n_envs, uint8_t *out, char *error, int error_size) {
  if (n_envs > r->max_envs || n_envs < 1) {
    fail(error, error_size, "Vulkan renderer: %d environments, capacity %d", n_envs, r->max_envs);
    return -1;
  }
  memcpy(r->mapped[BUFFER_PRIMS], prims, (size_t)n_envs * r->max_prims * sizeof(RcPrimitive));
  memcpy(r->mapped[BUFFER_COUNTS], counts, (size_t)n_envs * sizeof(int32_t));
  memcpy(r->mapped[BUFFER_VIEWS], views, (size_t)n_envs * sizeof(RcView));

  int32_t params[4] = {r->width, r->height, n_envs, r->max_prims};
  uint64_t pixels = (uint64_t)n_envs * r->width * r->height;
  uint32_t groups = (uint32_t)(((pixels + 3) / 4 + 63) / 64);
  VkCommandBufferBeginInfo begin = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
      .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
  };
  CHECK(vkResetCommandBuffer(r->commands, 0), "vkResetCommandBuffer");
  CHECK(vkBeginCommandBuffer(r->commands, &begin), "vkBeginCommandBuffer");
  vkCmdBindPipeline(r->commands, VK_PIPELINE_BIND_POINT_COMPUTE, r->pipeline);
  vkCmdBindDescriptorSets(r->commands, VK_PIPELINE_BIND_POINT_COMPUTE, r->pipeline_layout, 0, 1, &r->set, 0, NULL);
  vkCmdPushConstants(r->commands, r->pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof params, params);
  vkCmdDispatch(r->commands, groups, 1, 1);
  // Make the shader's writes visible to the host's reads after the fence.
  VkMemoryBarrier barrier = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_HOST_READ_BIT,
  };
  vkCmdPipelineBarrier(r->commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &barrier, 0, NULL, 0, NULL);
  CHECK(vkEndCommandBuffer(r->commands), "vkEndCommandBuffer");
  VkSubmitInfo submit = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
      .commandBufferCount = 1,
      .pCommandBuffers = &r->commands,
  };
  CHECK(vkResetFences(r->device, 1, &r->fence), "vkResetFences");
  CHECK(vkQueueSubmit(r->queue, 1, &submit, r->fence), "vkQueueSubmit");
  CHECK(vkWaitForFences(r->device, 1, &r->fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  memcpy(out, r->mapped[BUFFER_PIXELS], (size_t)pixels * 3);
  return 0;
failed:
  return -1;
}

const char *rc_vulkan_device_name(const rc_vulkan *r) { return r->device_name; }

int rc_vulkan_device_is_cpu(const rc_vulkan *r) { return r->is_cpu; }

void rc_vulkan_destroy(rc_vulkan *r) {
  if (!r) return;
  if (r->device) {
    vkDeviceWaitIdle(r->device);
    if (r->fence) vkDestroyFence(r->device, r->fence, NULL);
    if (r->command_pool) vkDestroyCommandPool(r->device, r->command_pool, NULL);
    if (r->pool) vkDestroyDescriptorPool(r->device, r->pool, NULL);
    if (r->pipeline) vkDestroyPipeline(r->device, r->pipeline, NULL);
    if (r->pipeline_layout) vkDestroyPipelineLayout(r->device, r->pipeline_layout, NULL);
    if (r->set_layout) vkDestroyDescriptorSetLayout(r->device, r->set_layout, NULL);
    if (r->shader) vkDestroyShaderModule(r->device, r->shader, NULL);
    for (int i = 0; i < BUFFER_COUNT; i++) {
      if (r->buffers[i]) vkDestroyBuffer(r->device, r->buffers[i], NULL);
      if (r->memory[i]) vkFreeMemory(r->device, r->memory[i], NULL);
    }
    vkDestroyDevice(r->device, NULL);
  }
  if (r->instance) vkDestroyInstance(r->instance, NULL);
  free(r);
}
