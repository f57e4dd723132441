// Creation, shape/indexing, elementwise math and reductions.
#include <ATen/ScalarOps.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include "internal.h"

using namespace ctorch;

namespace {

std::vector<at::Tensor> tensor_list(const ct_tensor *ts, int n) {
  std::vector<at::Tensor> list;
  list.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; i++) list.push_back(ref(ts[i]));
  return list;
}

at::Tensor unary(int op, const at::Tensor &t) {
  switch (op) {
    case CT_NEG: return at::neg(t);
    case CT_EXP: return at::exp(t);
    case CT_LOG: return at::log(t);
    case CT_SQRT: return at::sqrt(t);
    case CT_RSQRT: return at::rsqrt(t);
    case CT_ABS: return at::abs(t);
    case CT_TANH: return at::tanh(t);
    case CT_SIGMOID: return at::sigmoid(t);
    case CT_RELU: return at::relu(t);
    case CT_GELU: return at::gelu(t);
    case CT_GELU_TANH: return at::gelu(t, "tanh");
    case CT_SILU: return at::silu(t);
    case CT_SIN: return at::sin(t);
    case CT_COS: return at::cos(t);
    case CT_SIGN: return at::sign(t);
    case CT_FLOOR: return at::floor(t);
    case CT_CEIL: return at::ceil(t);
    case CT_ROUND: return at::round(t);
    case CT_RECIPROCAL: return at::reciprocal(t);
    case CT_SQUARE: return at::square(t);
    case CT_LOG1P: return at::log1p(t);
    case CT_EXPM1: return at::expm1(t);
    case CT_ERF: return at::erf(t);
    case CT_LOGICAL_NOT: return at::logical_not(t);
    case CT_ISNAN: return at::isnan(t);
    case CT_ISFINITE: return at::isfinite(t);
  }
  throw std::invalid_argument("unknown unary op " + std::to_string(op));
}

at::Tensor binary(int op, const at::Tensor &a, const at::Tensor &b) {
  switch (op) {
    case CT_ADD: return at::add(a, b);
    case CT_SUB: return at::sub(a, b);
    case CT_MUL: return at::mul(a, b);
    case CT_DIV: return at::div(a, b);
    case CT_POW: return at::pow(a, b);
    case CT_MAXIMUM: return at::maximum(a, b);
    case CT_MINIMUM: return at::minimum(a, b);
    case CT_REMAINDER: return at::remainder(a, b);
    case CT_EQ: return at::eq(a, b);
    case CT_NE: return at::ne(a, b);
    case CT_LT: return at::lt(a, b);
    case CT_LE: return at::le(a, b);
    case CT_GT: return at::gt(a, b);
    case CT_GE: return at::ge(a, b);
    case CT_LOGICAL_AND: return at::logical_and(a, b);
    case CT_LOGICAL_OR: return at::logical_or(a, b);
  }
  throw std::invalid_argument("unknown binary op " + std::to_string(op));
}

// A Python-number-like scalar: it takes part in type promotion as a weak type, so
// `float16 tensor * 0.5` stays float16 as in PyTorch.
at::Tensor wrapped_scalar(double s) {
  at::Tensor t = c10::scalar_to_tensor(at::Scalar(s));
  t.unsafeGetTensorImpl()->set_wrapped_number(true);
  return t;
}

// The integer counterpart: int64 tensors stay int64.
at::Tensor wrapped_integer(int64_t s) {
  at::Tensor t = c10::scalar_to_tensor(at::Scalar(s));
  t.unsafeGetTensorImpl()->set_wrapped_number(true);
  return t;
}

at::Tensor reduce(int op, const at::Tensor &t, at::IntArrayRef dims, bool keepdim) {
  bool all = dims.empty();
  std::vector<int64_t> every;
  if (all) {
    for (int64_t d = 0; d < t.dim(); d++) every.push_back(d);
    dims = every;
  }
  switch (op) {
    case CT_SUM: return at::sum(t, dims, keepdim);
    case CT_MEAN: return at::mean(t, dims, keepdim);
    case CT_AMAX: return at::amax(t, dims, keepdim);
    case CT_AMIN: return at::amin(t, dims, keepdim);
    case CT_PROD:
      if (dims.size() != 1 && !all) throw std::invalid_argument("prod reduces one dim or all");
      return all ? at::prod(t) : at::prod(t, dims[0], keepdim);
    case CT_VAR: return at::var(t, dims, /*unbiased=*/true, keepdim);
    case CT_STD: return at::std(t, dims, /*unbiased=*/true, keepdim);
    case CT_LOGSUMEXP: return at::logsumexp(t, dims, keepdim);
    case CT_NORM2: return at::norm(t, 2, dims, keepdim);
    case CT_ALL: {
      at::Tensor r = t.to(at::kBool);
      for (auto it = dims.rbegin(); it != dims.rend(); ++it) r = at::all(r, *it, keepdim);
      return r;
    }
    case CT_ANY: {
      at::Tensor r = t.to(at::kBool);
      for (auto it = dims.rbegin(); it != dims.rend(); ++it) r = at::any(r, *it, keepdim);
      return r;
    }
  }
  throw std::invalid_argument("unknown reduction " + std::to_string(op));
}

}  // namespace

extern "C" {

ct_tensor ct_from_data(const void *data, const int64_t *shape, int ndim, int dtype) {
  return guard_tensor([&] {
    at::Tensor t = at::empty(dims(shape, ndim), options(dtype, CT_CPU, 0));
    size_t nbytes = t.numel() * t.element_size();
    if (nbytes) std::memcpy(t.data_ptr(), data, nbytes);
    return t;
  });
}

ct_tensor ct_from_blob(void *data, const int64_t *shape, const int64_t *strides, int ndim,
                       int dtype, void (*release)(void *ctx), void *ctx) {
  return guard_tensor([&] {
    auto deleter = [release, ctx](void *) {
      if (release) release(ctx);
    };
    auto opts = options(dtype, CT_CPU, 0);
    if (strides) return at::from_blob(data, dims(shape, ndim), dims(strides, ndim), deleter, opts);
    return at::from_blob(data, dims(shape, ndim), deleter, opts);
  });
}

ct_tensor ct_full(const int64_t *shape, int ndim, double value, int dtype, int device, int index) {
  return guard_tensor(
      [&] { return at::full(dims(shape, ndim), value, options(dtype, device, index)); });
}

ct_tensor ct_arange(double start, double end, double step, int dtype, int device, int index) {
  return guard_tensor([&] { return at::arange(start, end, step, options(dtype, device, index)); });
}

ct_tensor ct_linspace(double start, double end, int64_t steps, int dtype, int device, int index) {
  return guard_tensor(
      [&] { return at::linspace(start, end, steps, options(dtype, device, index)); });
}

ct_tensor ct_rand(const int64_t *shape, int ndim, int dtype, int device, int index,
                  ct_generator g) {
  return guard_tensor([&] {
    return at::rand(dims(shape, ndim), optional_generator(g), options(dtype, device, index));
  });
}

ct_tensor ct_randn(const int64_t *shape, int ndim, int dtype, int device, int index,
                   ct_generator g) {
  return guard_tensor([&] {
    return at::randn(dims(shape, ndim), optional_generator(g), options(dtype, device, index));
  });
}

ct_tensor ct_randint(int64_t low, int64_t high, const int64_t *shape, int ndim, int device,
                     int index, ct_generator g) {
  return guard_tensor([&] {
    return at::randint(low, high, dims(shape, ndim), optional_generator(g),
                       options(CT_I64, device, index));
  });
}

ct_tensor ct_to(ct_tensor t, int dtype, int device, int index) {
  return guard_tensor([&] { return ref(t).to(options(dtype, device, index)); });
}

ct_tensor ct_contiguous(ct_tensor t) {
  return guard_tensor([&] { return ref(t).contiguous(); });
}
ct_tensor ct_clone(ct_tensor t) { return guard_tensor([&] { return ref(t).clone(); }); }
ct_tensor ct_alias(ct_tensor t) { return guard_tensor([&] { return ref(t); }); }

ct_tensor ct_reshape(ct_tensor t, const int64_t *shape, int ndim) {
  return guard_tensor([&] { return ref(t).reshape(dims(shape, ndim)); });
}
ct_tensor ct_view(ct_tensor t, const int64_t *shape, int ndim) {
  return guard_tensor([&] { return ref(t).view(dims(shape, ndim)); });
}
ct_tensor ct_permute(ct_tensor t, const int64_t *order, int ndim) {
  return guard_tensor([&] { return ref(t).permute(dims(order, ndim)); });
}
ct_tensor ct_transpose(ct_tensor t, int64_t d0, int64_t d1) {
  return guard_tensor([&] { return ref(t).transpose(d0, d1); });
}
ct_tensor ct_unsqueeze(ct_tensor t, int64_t dim) {
  return guard_tensor([&] { return ref(t).unsqueeze(dim); });
}
ct_tensor ct_squeeze(ct_tensor t, int64_t dim) {
  return guard_tensor([&] { return ref(t).squeeze(dim); });
}
ct_tensor ct_flatten(ct_tensor t, int64_t start, int64_t end) {
  return guard_tensor([&] { return ref(t).flatten(start, end); });
}
ct_tensor ct_expand(ct_tensor t, const int64_t *shape, int ndim) {
  return guard_tensor([&] { return ref(t).expand(dims(shape, ndim)); });
}
ct_tensor ct_repeat(ct_tensor t, const int64_t *repeats, int ndim) {
  return guard_tensor([&] { return ref(t).repeat(dims(repeats, ndim)); });
}
ct_tensor ct_cat(const ct_tensor *ts, int n, int64_t dim) {
  return guard_tensor([&] { return at::cat(tensor_list(ts, n), dim); });
}
ct_tensor ct_stack(const ct_tensor *ts, int n, int64_t dim) {
  return guard_tensor([&] { return at::stack(tensor_list(ts, n), dim); });
}
ct_tensor ct_slice(ct_tensor t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  return guard_tensor([&] { return ref(t).slice(dim, start, end, step); });
}
ct_tensor ct_select(ct_tensor t, int64_t dim, int64_t index) {
  return guard_tensor([&] { return ref(t).select(dim, index); });
}
ct_tensor ct_gather(ct_tensor t, int64_t dim, ct_tensor index) {
  return guard_tensor([&] { return at::gather(ref(t), dim, ref(index)); });
}
ct_tensor ct_scatter_add(ct_tensor t, int64_t dim, ct_tensor index, ct_tensor src) {
  return guard_tensor([&] { return at::scatter_add(ref(t), dim, ref(index), ref(src)); });
}
ct_tensor ct_index_select(ct_tensor t, int64_t dim, ct_tensor index) {
  return guard_tensor([&] { return at::index_select(ref(t), dim, ref(index)); });
}
ct_tensor ct_masked_fill(ct_tensor t, ct_tensor mask, double value) {
  return guard_tensor([&] { return at::masked_fill(ref(t), ref(mask), value); });
}
ct_tensor ct_masked_select(ct_tensor t, ct_tensor mask) {
  return guard_tensor([&] { return at::masked_select(ref(t), ref(mask)); });
}
ct_tensor ct_where(ct_tensor cond, ct_tensor a, ct_tensor b) {
  return guard_tensor([&] { return at::where(ref(cond), ref(a), ref(b)); });
}
ct_tensor ct_tril(ct_tensor t, int64_t diagonal) {
  return guard_tensor([&] { return at::tril(ref(t), diagonal); });
}
ct_tensor ct_triu(ct_tensor t, int64_t diagonal) {
  return guard_tensor([&] { return at::triu(ref(t), diagonal); });
}
ct_tensor ct_one_hot(ct_tensor t, int64_t num_classes) {
  return guard_tensor([&] { return at::one_hot(ref(t), num_classes); });
}

ct_tensor ct_unary(int op, ct_tensor t) {
  return guard_tensor([&] { return unary(op, ref(t)); });
}
ct_tensor ct_binary(int op, ct_tensor a, ct_tensor b) {
  return guard_tensor([&] { return binary(op, ref(a), ref(b)); });
}
ct_tensor ct_binary_scalar(int op, ct_tensor a, double s) {
  return guard_tensor([&] { return binary(op, ref(a), wrapped_scalar(s)); });
}
ct_tensor ct_binary_int(int op, ct_tensor a, int64_t s) {
  return guard_tensor([&] { return binary(op, ref(a), wrapped_integer(s)); });
}
ct_tensor ct_scalar_binary(int op, double s, ct_tensor a) {
  return guard_tensor([&] { return binary(op, wrapped_scalar(s), ref(a)); });
}
ct_tensor ct_clamp(ct_tensor t, double lo, double hi, bool has_lo, bool has_hi) {
  return guard_tensor([&] {
    c10::optional<at::Scalar> min, max;
    if (has_lo) min = lo;
    if (has_hi) max = hi;
    return at::clamp(ref(t), min, max);
  });
}

ct_tensor ct_reduce(int op, ct_tensor t, const int64_t *reduce_dims, int ndims, bool keepdim) {
  return guard_tensor([&] { return reduce(op, ref(t), dims(reduce_dims, ndims), keepdim); });
}
ct_tensor ct_argmax(ct_tensor t, int64_t dim, bool keepdim) {
  return guard_tensor([&] { return at::argmax(ref(t), dim, keepdim); });
}
ct_tensor ct_argmin(ct_tensor t, int64_t dim, bool keepdim) {
  return guard_tensor([&] { return at::argmin(ref(t), dim, keepdim); });
}
int ct_topk(ct_tensor t, int64_t k, int64_t dim, bool largest, ct_tensor *values,
            ct_tensor *indices) {
  return guard_status([&] {
    auto result = at::topk(ref(t), k, dim, largest, /*sorted=*/true);
    *values = new ct_tensor_s{std::get<0>(result)};
    *indices = new ct_tensor_s{std::get<1>(result)};
  });
}
ct_tensor ct_cumsum(ct_tensor t, int64_t dim) {
  return guard_tensor([&] { return at::cumsum(ref(t), dim); });
}
ct_tensor ct_multinomial(ct_tensor probs, int64_t n, bool replacement, ct_generator g) {
  return guard_tensor(
      [&] { return at::multinomial(ref(probs), n, replacement, optional_generator(g)); });
}

}  // extern "C"
