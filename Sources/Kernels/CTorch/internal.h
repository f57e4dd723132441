// Shared by the shim's .cpp files: the handle structs, dtype/device mapping and the exception
// guard that turns every libtorch error into ct_last_error() + a failure return value.
#pragma once

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <string>

#include "ctorch.h"

struct ct_tensor_s {
  at::Tensor tensor;
};

struct ct_generator_s {
  at::Generator generator;
};

namespace ctorch {

void set_error(const std::string &message);
// Call inside a catch block: records the in-flight exception's message.
void record_current_exception();

at::ScalarType to_scalar_type(int dtype);
int from_scalar_type(at::ScalarType type);
at::Device to_device(int device, int index);
at::TensorOptions options(int dtype, int device, int index);

inline at::IntArrayRef dims(const int64_t *values, int n) {
  return at::IntArrayRef(values, static_cast<size_t>(n));
}

inline const at::Tensor &ref(ct_tensor t) {
  if (t == nullptr) throw std::invalid_argument("null tensor handle");
  return t->tensor;
}

inline c10::optional<at::Tensor> optional_ref(ct_tensor t) {
  if (t == nullptr) return c10::nullopt;
  return t->tensor;
}

inline c10::optional<at::Generator> optional_generator(ct_generator g) {
  if (g == nullptr) return c10::nullopt;
  return g->generator;
}

// Runs `make` and wraps its tensor in a new handle; NULL (and the error recorded) on any throw.
template <class F>
ct_tensor guard_tensor(F &&make) noexcept {
  try {
    return new ct_tensor_s{make()};
  } catch (...) {
    record_current_exception();
    return nullptr;
  }
}

// Runs `body`; 0 on success, -1 (and the error recorded) on any throw.
template <class F>
int guard_status(F &&body) noexcept {
  try {
    body();
    return 0;
  } catch (...) {
    record_current_exception();
    return -1;
  }
}

}  // namespace ctorch
