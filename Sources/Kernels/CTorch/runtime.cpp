// Errors, dtype/device mapping, threads, seeding, generators and tensor lifetime/metadata.
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>
#include <torch/version.h>

#include <dlfcn.h>

#include <cstring>
#include <stdexcept>

#include "internal.h"

namespace ctorch {

static thread_local std::string last_error;

void set_error(const std::string &message) { last_error = message; }

void record_current_exception() {
  try {
    throw;
  } catch (const c10::Error &e) {
    set_error(e.what_without_backtrace());
  } catch (const std::exception &e) {
    set_error(e.what());
  } catch (...) {
    set_error("unknown C++ exception");
  }
}

at::ScalarType to_scalar_type(int dtype) {
  switch (dtype) {
    case CT_F32: return at::kFloat;
    case CT_F64: return at::kDouble;
    case CT_BF16: return at::kBFloat16;
    case CT_F16: return at::kHalf;
    case CT_I64: return at::kLong;
    case CT_I32: return at::kInt;
    case CT_I16: return at::kShort;
    case CT_I8: return at::kChar;
    case CT_U8: return at::kByte;
    case CT_BOOL: return at::kBool;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(dtype));
}

int from_scalar_type(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return CT_F32;
    case at::kDouble: return CT_F64;
    case at::kBFloat16: return CT_BF16;
    case at::kHalf: return CT_F16;
    case at::kLong: return CT_I64;
    case at::kInt: return CT_I32;
    case at::kShort: return CT_I16;
    case at::kChar: return CT_I8;
    case at::kByte: return CT_U8;
    case at::kBool: return CT_BOOL;
    default: return -1;
  }
}

at::Device to_device(int device, int index) {
  switch (device) {
    case CT_CPU: return at::Device(at::kCPU);
    case CT_CUDA:
      if (!at::hasCUDA())
        throw std::runtime_error("device cuda:" + std::to_string(index) +
                                 " requested, but the linked libtorch has no CUDA support "
                                 "(or no CUDA device is visible)");
      return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
    case CT_META: return at::Device(at::kMeta);
  }
  throw std::invalid_argument("unknown device code " + std::to_string(device));
}

at::TensorOptions options(int dtype, int device, int index) {
  return at::TensorOptions().dtype(to_scalar_type(dtype)).device(to_device(device, index));
}

}  // namespace ctorch

using namespace ctorch;

extern "C" {

const char *ct_last_error(void) { return last_error.c_str(); }

const char *ct_version(void) {
  static const std::string version = std::to_string(TORCH_VERSION_MAJOR) + "." +
                                     std::to_string(TORCH_VERSION_MINOR) + "." +
                                     std::to_string(TORCH_VERSION_PATCH);
  return version.c_str();
}

bool ct_cuda_available(void) { return at::hasCUDA(); }

int ct_cuda_device_count(void) {
  return at::hasCUDA() ? static_cast<int>(at::getNumGPUs()) : 0;
}

bool ct_has_fused_attention(void) { return TORCH_VERSION_MAJOR >= 2; }

void ct_set_num_threads(int n) { at::set_num_threads(n); }
int ct_get_num_threads(void) { return at::get_num_threads(); }

bool ct_set_blas_threads(int n) {
  // Looked up at run time: Debian switches BLAS implementations through alternatives, and
  // OpenBLAS's pool would otherwise oversubscribe the cores at::set_num_threads already uses.
  using setter = void (*)(int);
  auto set = reinterpret_cast<setter>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (!set) return false;
  set(n);
  return true;
}
int ct_set_num_interop_threads(int n) {
  return guard_status([&] { at::set_num_interop_threads(n); });
}
void ct_manual_seed(uint64_t seed) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_current_seed(seed);
}
bool ct_grad_enabled(void) { return c10::GradMode::is_enabled(); }
void ct_set_grad_enabled(bool on) { c10::GradMode::set_enabled(on); }

// libtorch 2.4 replaced the per-device autocast functions with ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
static bool autocast_is_on(bool cuda) { return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU); }
static void autocast_set(bool cuda, bool on) {
  at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, on);
  at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, at::kBFloat16);
}
#else
static bool autocast_is_on(bool cuda) { return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled(); }
static void autocast_set(bool cuda, bool on) {
  if (cuda) {
    at::autocast::set_enabled(on);
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  } else {
    at::autocast::set_cpu_enabled(on);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  }
}
#endif

bool ct_autocast_enabled(int device) { return autocast_is_on(device == CT_CUDA); }

int ct_autocast_enter(int device) {
  return guard_status([&] {
    autocast_set(device == CT_CUDA, true);
    at::autocast::increment_nesting();
  });
}

void ct_autocast_exit(int device, bool previous) {
  autocast_set(device == CT_CUDA, previous);
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
}

void ct_free(ct_tensor t) { delete t; }
int ct_dim(ct_tensor t) { return static_cast<int>(t->tensor.dim()); }

int ct_sizes(ct_tensor t, int64_t *out, int cap) {
  auto sizes = t->tensor.sizes();
  for (int i = 0; i < cap && i < static_cast<int>(sizes.size()); i++) out[i] = sizes[i];
  return static_cast<int>(sizes.size());
}

int ct_strides(ct_tensor t, int64_t *out, int cap) {
  auto strides = t->tensor.strides();
  for (int i = 0; i < cap && i < static_cast<int>(strides.size()); i++) out[i] = strides[i];
  return static_cast<int>(strides.size());
}

int ct_dtype_of(ct_tensor t) { return from_scalar_type(t->tensor.scalar_type()); }

int ct_device_of(ct_tensor t, int *index) {
  auto device = t->tensor.device();
  if (index) *index = device.has_index() ? device.index() : 0;
  if (device.is_meta()) return CT_META;
  return device.is_cuda() ? CT_CUDA : CT_CPU;
}

int64_t ct_numel(ct_tensor t) { return t->tensor.numel(); }
bool ct_is_contiguous(ct_tensor t) { return t->tensor.is_contiguous(); }
void *ct_data_ptr(ct_tensor t) { return t->tensor.data_ptr(); }

int ct_item(ct_tensor t, double *out) {
  return guard_status([&] { *out = ref(t).item<double>(); });
}

int ct_copy_to(ct_tensor t, void *dst, size_t nbytes) {
  return guard_status([&] {
    at::Tensor src = ref(t).detach().to(at::kCPU).contiguous();
    size_t have = src.numel() * src.element_size();
    if (have != nbytes)
      throw std::invalid_argument("copy_to: tensor has " + std::to_string(have) +
                                  " bytes, destination " + std::to_string(nbytes));
    if (nbytes) std::memcpy(dst, src.data_ptr(), nbytes);
  });
}

int ct_copy_from(ct_tensor t, const void *src, size_t nbytes) {
  return guard_status([&] {
    at::Tensor &dst = t->tensor;
    size_t want = dst.numel() * dst.element_size();
    if (want != nbytes)
      throw std::invalid_argument("copy_from: tensor has " + std::to_string(want) +
                                  " bytes, source " + std::to_string(nbytes));
    if (!dst.is_contiguous() || !dst.device().is_cpu())
      throw std::invalid_argument("copy_from needs a contiguous CPU tensor");
    if (nbytes) std::memcpy(dst.data_ptr(), src, nbytes);
  });
}

int ct_move_to_device(ct_tensor t, int device, int index) {
  return guard_status([&] {
    at::Tensor &current = t->tensor;
    at::Device target = to_device(device, index);
    if (current.device() == target) return;
    // A new leaf on the target device replaces the old one inside the handle (no set_data: it
    // refuses some device pairs, e.g. CPU -> meta).
    at::Tensor moved = current.detach().to(target);
    if (current.requires_grad()) moved.requires_grad_(true);
    if (current.grad().defined()) moved.mutable_grad() = current.grad().to(target);
    current = moved;
  });
}

ct_generator ct_generator_new(uint64_t seed, int device, int index) {
  try {
    at::Device dev = to_device(device, index);
    at::Generator gen = dev.is_cpu() ? at::make_generator<at::CPUGeneratorImpl>(seed)
                                     : at::globalContext().defaultGenerator(dev).clone();
    gen.set_current_seed(seed);
    return new ct_generator_s{gen};
  } catch (...) {
    record_current_exception();
    return nullptr;
  }
}

void ct_generator_free(ct_generator g) { delete g; }

ct_tensor ct_generator_get_state(ct_generator g) {
  return guard_tensor([&] {
    std::lock_guard<std::mutex> lock(g->generator.mutex());
    return g->generator.get_state();
  });
}

int ct_generator_set_state(ct_generator g, ct_tensor state) {
  return guard_status([&] {
    std::lock_guard<std::mutex> lock(g->generator.mutex());
    g->generator.set_state(ref(state));
  });
}

}  // extern "C"
