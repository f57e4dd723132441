// Linear algebra, neural-network functions, in-place updates and autograd.
#include <torch/csrc/autograd/autograd.h>
#include <torch/version.h>

#include <stdexcept>

#include "internal.h"

using namespace ctorch;

extern "C" {

ct_tensor ct_matmul(ct_tensor a, ct_tensor b) {
  return guard_tensor([&] { return at::matmul(ref(a), ref(b)); });
}
ct_tensor ct_bmm(ct_tensor a, ct_tensor b) {
  return guard_tensor([&] { return at::bmm(ref(a), ref(b)); });
}
ct_tensor ct_linear(ct_tensor x, ct_tensor w, ct_tensor b) {
  return guard_tensor([&] { return at::linear(ref(x), ref(w), optional_ref(b)); });
}
ct_tensor ct_conv2d(ct_tensor x, ct_tensor w, ct_tensor b, const int64_t *stride,
                    const int64_t *padding, const int64_t *dilation, int64_t groups) {
  return guard_tensor([&] {
    return at::conv2d(ref(x), ref(w), optional_ref(b), dims(stride, 2), dims(padding, 2),
                      dims(dilation, 2), groups);
  });
}
ct_tensor ct_layer_norm(ct_tensor x, const int64_t *shape, int ndim, ct_tensor w, ct_tensor b,
                        double eps) {
  return guard_tensor([&] {
    return at::layer_norm(ref(x), dims(shape, ndim), optional_ref(w), optional_ref(b), eps);
  });
}
ct_tensor ct_embedding(ct_tensor weight, ct_tensor indices) {
  return guard_tensor([&] { return at::embedding(ref(weight), ref(indices)); });
}
ct_tensor ct_dropout(ct_tensor x, double p, bool train) {
  return guard_tensor([&] { return at::dropout(ref(x), p, train); });
}
ct_tensor ct_softmax(ct_tensor t, int64_t dim) {
  return guard_tensor([&] { return at::softmax(ref(t), dim); });
}
ct_tensor ct_log_softmax(ct_tensor t, int64_t dim) {
  return guard_tensor([&] { return at::log_softmax(ref(t), dim); });
}

ct_tensor ct_fused_attention(ct_tensor q, ct_tensor k, ct_tensor v, ct_tensor mask, bool causal) {
  return guard_tensor([&]() -> at::Tensor {
#if TORCH_VERSION_MAJOR >= 2
    return at::scaled_dot_product_attention(ref(q), ref(k), ref(v), optional_ref(mask), 0.0,
                                            causal);
#else
    (void)q, (void)k, (void)v, (void)mask, (void)causal;
    throw std::runtime_error("fused attention needs libtorch >= 2.0 (linked: " +
                             std::string(ct_version()) + ")");
#endif
  });
}

int ct_add_(ct_tensor t, ct_tensor other, double alpha) {
  return guard_status([&] { t->tensor.add_(ref(other), alpha); });
}
int ct_mul_scalar_(ct_tensor t, double s) {
  return guard_status([&] { t->tensor.mul_(s); });
}
int ct_mul_(ct_tensor t, ct_tensor other) {
  return guard_status([&] { t->tensor.mul_(ref(other)); });
}
int ct_addcmul_(ct_tensor t, ct_tensor a, ct_tensor b, double value) {
  return guard_status([&] { t->tensor.addcmul_(ref(a), ref(b), value); });
}
int ct_addcdiv_(ct_tensor t, ct_tensor a, ct_tensor b, double value) {
  return guard_status([&] { t->tensor.addcdiv_(ref(a), ref(b), value); });
}
int ct_copy_(ct_tensor t, ct_tensor src) {
  return guard_status([&] { t->tensor.copy_(ref(src)); });
}
int ct_fill_(ct_tensor t, double value) {
  return guard_status([&] { t->tensor.fill_(value); });
}
int ct_uniform_(ct_tensor t, double lo, double hi, ct_generator g) {
  return guard_status([&] { t->tensor.uniform_(lo, hi, optional_generator(g)); });
}
int ct_normal_(ct_tensor t, double mean, double std, ct_generator g) {
  return guard_status([&] { t->tensor.normal_(mean, std, optional_generator(g)); });
}

int ct_set_requires_grad(ct_tensor t, bool on) {
  return guard_status([&] { t->tensor.requires_grad_(on); });
}
bool ct_requires_grad(ct_tensor t) { return t->tensor.requires_grad(); }
bool ct_is_leaf(ct_tensor t) { return t->tensor.is_leaf(); }

int ct_backward(ct_tensor t, ct_tensor grad, bool retain_graph) {
  return guard_status([&] {
    at::Tensor gradient = grad ? grad->tensor : at::Tensor();
    t->tensor.backward(gradient, retain_graph);
  });
}

int ct_grad(ct_tensor t, ct_tensor *out) {
  return guard_status([&] {
    const at::Tensor &g = t->tensor.grad();
    *out = g.defined() ? new ct_tensor_s{g} : nullptr;
  });
}

int ct_set_grad(ct_tensor t, ct_tensor grad) {
  return guard_status([&] {
    if (grad)
      t->tensor.mutable_grad() = grad->tensor;
    else
      t->tensor.mutable_grad().reset();
  });
}

int ct_autograd_grad(ct_tensor output, const ct_tensor *inputs, int n, ct_tensor *out) {
  return guard_status([&] {
    std::vector<at::Tensor> wrt;
    wrt.reserve(n);
    for (int i = 0; i < n; i++) wrt.push_back(inputs[i]->tensor);
    auto grads = torch::autograd::grad({output->tensor}, wrt, {}, /*retain_graph=*/false,
                                       /*create_graph=*/false, /*allow_unused=*/true);
    for (int i = 0; i < n; i++)
      out[i] = new ct_tensor_s{grads[i].defined() ? grads[i] : at::zeros_like(wrt[i])};
  });
}

int ct_backward_into(ct_tensor output, const ct_tensor *inputs, int n) {
  return guard_status([&] {
    std::vector<at::Tensor> wrt;
    wrt.reserve(n);
    for (int i = 0; i < n; i++) wrt.push_back(inputs[i]->tensor);
    torch::autograd::backward({output->tensor}, {}, /*retain_graph=*/false, /*create_graph=*/false, wrt);
  });
}

ct_tensor ct_detach(ct_tensor t) { return guard_tensor([&] { return ref(t).detach(); }); }

}  // extern "C"
