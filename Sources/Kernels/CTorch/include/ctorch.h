// ctorch.h: a small C API over libtorch (ATen + autograd), the only native surface the Swift
// `Torch` module sees. libtorch's C++ headers stay inside the .cpp files of this target, so Swift
// imports plain C and needs no C++ interop.
//
// Conventions
// - A `ct_tensor` owns one at::Tensor reference; release it with ct_free. Tensors returned by any
//   function are new references owned by the caller.
// - Failure: functions returning a handle return NULL, functions returning int return -1. The
//   libtorch message (without its C++ backtrace) is then in ct_last_error() for this thread.
// - Shapes are (const int64_t *shape, int ndim). dtype and device codes are the enums below.
#ifndef CTORCH_H
#define CTORCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_tensor_s *ct_tensor;
typedef struct ct_generator_s *ct_generator;

typedef enum {
  CT_F32 = 0, CT_F64 = 1, CT_BF16 = 2, CT_F16 = 3,
  CT_I64 = 4, CT_I32 = 5, CT_I16 = 6, CT_I8 = 7, CT_U8 = 8, CT_BOOL = 9
} ct_dtype;

// CT_META holds shapes and dtypes but no data: code run on it shows where tensors would land.
typedef enum { CT_CPU = 0, CT_CUDA = 1, CT_META = 2 } ct_device_type;

typedef enum {
  CT_NEG, CT_EXP, CT_LOG, CT_SQRT, CT_RSQRT, CT_ABS, CT_TANH, CT_SIGMOID, CT_RELU, CT_GELU,
  CT_GELU_TANH, CT_SILU, CT_SIN, CT_COS, CT_SIGN, CT_FLOOR, CT_CEIL, CT_ROUND, CT_RECIPROCAL,
  CT_SQUARE, CT_LOG1P, CT_EXPM1, CT_ERF, CT_LOGICAL_NOT, CT_ISNAN, CT_ISFINITE
} ct_unary_op;

typedef enum {
  CT_ADD, CT_SUB, CT_MUL, CT_DIV, CT_POW, CT_MAXIMUM, CT_MINIMUM, CT_REMAINDER,
  CT_EQ, CT_NE, CT_LT, CT_LE, CT_GT, CT_GE, CT_LOGICAL_AND, CT_LOGICAL_OR
} ct_binary_op;

typedef enum {
  CT_SUM, CT_MEAN, CT_AMAX, CT_AMIN, CT_PROD, CT_VAR, CT_STD, CT_LOGSUMEXP, CT_NORM2, CT_ALL, CT_ANY
} ct_reduce_op;

// ---- errors and runtime -------------------------------------------------------------------
const char *ct_last_error(void);
const char *ct_version(void);            // e.g. "1.13.0"
bool ct_cuda_available(void);
int ct_cuda_device_count(void);
bool ct_has_fused_attention(void);       // at::scaled_dot_product_attention exists (libtorch >= 2.0)
void ct_set_num_threads(int n);
// Threads of the BLAS libtorch calls into (OpenBLAS's own pool); false when the loaded BLAS has
// no such control.
bool ct_set_blas_threads(int n);
int ct_get_num_threads(void);
int ct_set_num_interop_threads(int n);   // only before the first parallel op; -1 if too late
void ct_manual_seed(uint64_t seed);
bool ct_grad_enabled(void);
void ct_set_grad_enabled(bool on);
// Mixed precision for the current thread (libtorch's autocast on the device type of `device`,
// CT_CPU or CT_CUDA): matmul-like ops run in bfloat16 while entered, the rest in float32.
// Regions nest; leaving the outermost one clears the cache of cast weights.
int ct_autocast_enter(int device);
void ct_autocast_exit(int device, bool previous);
bool ct_autocast_enabled(int device);

// ---- lifetime, metadata, data ------------------------------------------------------------------
void ct_free(ct_tensor t);
int ct_dim(ct_tensor t);
int ct_sizes(ct_tensor t, int64_t *out, int cap);     // writes min(ndim, cap) sizes, returns ndim
int ct_strides(ct_tensor t, int64_t *out, int cap);
int ct_dtype_of(ct_tensor t);
int ct_device_of(ct_tensor t, int *index);            // returns ct_device_type
int64_t ct_numel(ct_tensor t);
bool ct_is_contiguous(ct_tensor t);
void *ct_data_ptr(ct_tensor t);                        // raw storage pointer (CPU tensors)
int ct_item(ct_tensor t, double *out);                 // one-element tensor -> double
int ct_copy_to(ct_tensor t, void *dst, size_t nbytes); // contiguous CPU copy into dst
int ct_copy_from(ct_tensor t, const void *src, size_t nbytes); // overwrite t (contiguous CPU)
// Moves the leaf tensor behind t to another device in place, keeping requires_grad and moving its
// gradient: every holder of t (modules, optimizers) sees the moved tensor.
int ct_move_to_device(ct_tensor t, int device, int index);

// ---- creation ----------------------------------------------------------------------------------
// One copy of `data` into new storage.
ct_tensor ct_from_data(const void *data, const int64_t *shape, int ndim, int dtype);
// No copy: the tensor views `data`; `release(ctx)` runs when libtorch frees the storage.
ct_tensor ct_from_blob(void *data, const int64_t *shape, const int64_t *strides, int ndim,
                       int dtype, void (*release)(void *ctx), void *ctx);
ct_tensor ct_full(const int64_t *shape, int ndim, double value, int dtype, int device, int index);
ct_tensor ct_arange(double start, double end, double step, int dtype, int device, int index);
ct_tensor ct_linspace(double start, double end, int64_t steps, int dtype, int device, int index);
ct_tensor ct_rand(const int64_t *shape, int ndim, int dtype, int device, int index, ct_generator g);
ct_tensor ct_randn(const int64_t *shape, int ndim, int dtype, int device, int index, ct_generator g);
ct_tensor ct_randint(int64_t low, int64_t high, const int64_t *shape, int ndim, int device,
                     int index, ct_generator g);
ct_tensor ct_to(ct_tensor t, int dtype, int device, int index);
ct_tensor ct_contiguous(ct_tensor t);
ct_tensor ct_clone(ct_tensor t);
ct_tensor ct_alias(ct_tensor t);                       // another reference to the same tensor

// ---- shape and indexing ------------------------------------------------------------------------
ct_tensor ct_reshape(ct_tensor t, const int64_t *shape, int ndim);
ct_tensor ct_view(ct_tensor t, const int64_t *shape, int ndim);
ct_tensor ct_permute(ct_tensor t, const int64_t *dims, int ndim);
ct_tensor ct_transpose(ct_tensor t, int64_t d0, int64_t d1);
ct_tensor ct_unsqueeze(ct_tensor t, int64_t dim);
ct_tensor ct_squeeze(ct_tensor t, int64_t dim);
ct_tensor ct_flatten(ct_tensor t, int64_t start, int64_t end);
ct_tensor ct_expand(ct_tensor t, const int64_t *shape, int ndim);
ct_tensor ct_repeat(ct_tensor t, const int64_t *repeats, int ndim);
ct_tensor ct_cat(const ct_tensor *ts, int n, int64_t dim);
ct_tensor ct_stack(const ct_tensor *ts, int n, int64_t dim);
ct_tensor ct_slice(ct_tensor t, int64_t dim, int64_t start, int64_t end, int64_t step);
ct_tensor ct_select(ct_tensor t, int64_t dim, int64_t index);
ct_tensor ct_gather(ct_tensor t, int64_t dim, ct_tensor index);
ct_tensor ct_scatter_add(ct_tensor t, int64_t dim, ct_tensor index, ct_tensor src);
ct_tensor ct_index_select(ct_tensor t, int64_t dim, ct_tensor index);
ct_tensor ct_masked_fill(ct_tensor t, ct_tensor mask, double value);
ct_tensor ct_masked_select(ct_tensor t, ct_tensor mask);
ct_tensor ct_where(ct_tensor cond, ct_tensor a, ct_tensor b);
ct_tensor ct_tril(ct_tensor t, int64_t diagonal);
ct_tensor ct_triu(ct_tensor t, int64_t diagonal);
ct_tensor ct_one_hot(ct_tensor t, int64_t num_classes);

// ---- elementwise -------------------------------------------------------------------------------
ct_tensor ct_unary(int op, ct_tensor t);
ct_tensor ct_binary(int op, ct_tensor a, ct_tensor b);
ct_tensor ct_binary_scalar(int op, ct_tensor a, double s);     // a (op) s
ct_tensor ct_scalar_binary(int op, double s, ct_tensor a);     // s (op) a
ct_tensor ct_binary_int(int op, ct_tensor a, int64_t s);       // a (op) s, s an integer
ct_tensor ct_clamp(ct_tensor t, double lo, double hi, bool has_lo, bool has_hi);

// ---- linear algebra and neural-network functions ------------------------------------------------
ct_tensor ct_matmul(ct_tensor a, ct_tensor b);
ct_tensor ct_bmm(ct_tensor a, ct_tensor b);
ct_tensor ct_linear(ct_tensor x, ct_tensor w, ct_tensor b /* nullable */);
ct_tensor ct_conv2d(ct_tensor x, ct_tensor w, ct_tensor b /* nullable */, const int64_t *stride,
                    const int64_t *padding, const int64_t *dilation, int64_t groups);
ct_tensor ct_layer_norm(ct_tensor x, const int64_t *shape, int ndim, ct_tensor w, ct_tensor b,
                        double eps);
ct_tensor ct_embedding(ct_tensor weight, ct_tensor indices);
ct_tensor ct_dropout(ct_tensor x, double p, bool train);
ct_tensor ct_softmax(ct_tensor t, int64_t dim);
ct_tensor ct_log_softmax(ct_tensor t, int64_t dim);
// Fused attention (libtorch >= 2.0 only; NULL with an error otherwise). mask: bool (true = attend)
// or float (added to the scores), nullable.
ct_tensor ct_fused_attention(ct_tensor q, ct_tensor k, ct_tensor v, ct_tensor mask, bool causal);

// ---- reductions, sorting, sampling --------------------------------------------------------------
// ndims == 0 reduces over all dimensions.
ct_tensor ct_reduce(int op, ct_tensor t, const int64_t *dims, int ndims, bool keepdim);
ct_tensor ct_argmax(ct_tensor t, int64_t dim, bool keepdim);
ct_tensor ct_argmin(ct_tensor t, int64_t dim, bool keepdim);
int ct_topk(ct_tensor t, int64_t k, int64_t dim, bool largest, ct_tensor *values,
            ct_tensor *indices);
ct_tensor ct_cumsum(ct_tensor t, int64_t dim);
ct_tensor ct_multinomial(ct_tensor probs, int64_t n, bool replacement, ct_generator g);

// ---- in-place updates (optimizers, initialisation) ----------------------------------------------
int ct_add_(ct_tensor t, ct_tensor other, double alpha);        // t += alpha * other
int ct_mul_scalar_(ct_tensor t, double s);
int ct_mul_(ct_tensor t, ct_tensor other);
int ct_addcmul_(ct_tensor t, ct_tensor a, ct_tensor b, double value);  // t += value * a * b
int ct_addcdiv_(ct_tensor t, ct_tensor a, ct_tensor b, double value);  // t += value * a / b
int ct_copy_(ct_tensor t, ct_tensor src);
int ct_fill_(ct_tensor t, double value);
int ct_uniform_(ct_tensor t, double lo, double hi, ct_generator g);
int ct_normal_(ct_tensor t, double mean, double std, ct_generator g);

// ---- autograd ----------------------------------------------------------------------------------
int ct_set_requires_grad(ct_tensor t, bool on);
bool ct_requires_grad(ct_tensor t);
bool ct_is_leaf(ct_tensor t);
int ct_backward(ct_tensor t, ct_tensor grad /* nullable */, bool retain_graph);
int ct_grad(ct_tensor t, ct_tensor *out);        // *out = NULL when no gradient is stored
int ct_set_grad(ct_tensor t, ct_tensor grad /* nullable: clears */);
// out[i] = d output / d inputs[i] for a scalar output, leaving every .grad untouched (zeros for
// inputs the output does not depend on); frees the graph. Callers own the n new tensors.
int ct_autograd_grad(ct_tensor output, const ct_tensor *inputs, int n, ct_tensor *out);
// Accumulates d output / d inputs[i] into each input's .grad (only theirs; their gradient
// accumulators' hooks run, which ct_reducer needs); frees the graph.
int ct_backward_into(ct_tensor output, const ct_tensor *inputs, int n);
ct_tensor ct_detach(ct_tensor t);

// ---- random generators ---------------------------------------------------------------------------
ct_generator ct_generator_new(uint64_t seed, int device, int index);
void ct_generator_free(ct_generator g);
ct_tensor ct_generator_get_state(ct_generator g);
int ct_generator_set_state(ct_generator g, ct_tensor state);

// ---- process groups (c10d: TCPStore rendezvous, Gloo collectives, NCCL for CUDA tensors) --------
typedef struct ct_group_s *ct_group;
bool ct_has_nccl(void);  // whether this libtorch was built with NCCL
// Joins group `world` at host:port as `rank` (rank 0 serves the store; the others connect to it).
// timeout_ms bounds the rendezvous and every collective: a missing or dead rank fails the call.
// Gloo carries CPU tensors; with `nccl` (a libtorch with NCCL), NCCL carries CUDA tensors.
ct_group ct_group_new(const char *host, int port, int rank, int world, int64_t timeout_ms, bool nccl);
void ct_group_free(ct_group g);
int ct_group_all_reduce_sum(ct_group g, ct_tensor t);           // in place, every rank
int ct_group_broadcast(ct_group g, ct_tensor t, int root);      // in place, root's values
int ct_group_all_gather(ct_group g, ct_tensor t, ct_tensor *out); // out[r] = rank r's t (world new)
int ct_group_barrier(ct_group g);

// ---- gradient averaging that overlaps the backward (DDP's reducer) --------------------------------
typedef struct ct_reducer_s *ct_reducer;
// bucket[i]: the bucket of parameter i (leaves that require grad); buckets start in index order.
// The group must outlive the reducer.
ct_reducer ct_reducer_new(ct_group g, const ct_tensor *parameters, const int *bucket, int n);
void ct_reducer_free(ct_reducer r);
// The next backward starts each bucket's all-reduce once its gradients are accumulated.
int ct_reducer_arm(ct_reducer r);
// Starts the buckets that did not start, waits for all and replaces every gradient (zeros where
// none) by its mean over the ranks. started_after[b] (one per bucket): how many gradients the
// armed backward had accumulated when bucket b started, -1 where it started here.
int ct_reducer_finish(ct_reducer r, int *started_after);

#ifdef __cplusplus
}
#endif
#endif
