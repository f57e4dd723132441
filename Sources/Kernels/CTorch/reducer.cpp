// Gradient averaging over the ranks that overlaps the backward pass, DDP's reducer design: the
// parameters are split into buckets (the caller's plan: reverse parameter order, the order a
// backward finishes them), a post-hook on each parameter's gradient accumulator counts the
// bucket's gradients as they are accumulated, and a bucket's all-reduce starts as soon as its
// last gradient is in, while the backward goes on with the layers below. Buckets start in bucket
// order on every rank (a ready bucket waits for the ones before it), because each rank must
// issue the same collectives in the same order. finish() starts whatever did not start (all of
// it when no backward was armed), waits for every bucket and writes the means into the
// gradients.
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "group.h"

namespace {

using torch::autograd::variable_list;

struct Bucket {
  std::vector<int> parameters;
  int pending = 0;  // gradients not yet accumulated in the armed backward
  int started_after = -1;  // gradients accumulated when it started in the backward; -1: at finish()
  at::Tensor flat;  // [sum of numels]: the packed gradients while the all-reduce runs
  c10::intrusive_ptr<c10d::Work> work;
};

struct ReducerState {
  std::mutex mutex;
  ct_group group;
  std::vector<at::Tensor> parameters;
  std::vector<int> bucket_of;  // parameter -> bucket
  std::vector<Bucket> buckets;
  std::vector<bool> accumulated;  // per parameter, in the armed backward
  size_t next = 0;                // the next bucket to start
  bool armed = false;
  int accumulated_count = 0;      // gradients accumulated so far in the armed backward
  std::string error;  // the first failure to start a bucket (a hook cannot throw usefully)

  void start(size_t b) {
    Bucket &bucket = buckets[b];
    std::vector<at::Tensor> pieces;
    for (int i : bucket.parameters) {
      const at::Tensor &g = parameters[i].grad();
      pieces.push_back((g.defined() ? g : at::zeros_like(parameters[i])).reshape({-1}));
    }
    bucket.flat = at::cat(pieces);
    std::vector<at::Tensor> tensors{bucket.flat};
    bucket.work = group->for_tensor(bucket.flat).allreduce(tensors);
  }

  // Called by the hook of parameter i after its gradient was accumulated.
  void accumulated_gradient(int i) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed || accumulated[i]) return;
    accumulated[i] = true;
    accumulated_count++;
    buckets[bucket_of[i]].pending--;
    try {
      while (next < buckets.size() && buckets[next].pending == 0) {
        buckets[next].started_after = accumulated_count;
        start(next++);
      }
    } catch (const std::exception &e) {
      if (error.empty()) error = e.what();
      next = buckets.size();  // nothing more starts; finish() reports the error
    }
  }
};

class AccumulatedHook : public torch::autograd::FunctionPostHook {
 public:
  AccumulatedHook(std::weak_ptr<ReducerState> state, int parameter) : state_(std::move(state)), parameter_(parameter) {}
  variable_list operator()(const variable_list &outputs, const variable_list &) override {
    if (auto state = state_.lock()) state->accumulated_gradient(parameter_);
    return outputs;
  }

 private:
  std::weak_ptr<ReducerState> state_;
  int parameter_;
};

}  // namespace

// libtorch 2.13 holds autograd nodes in intrusive pointers, earlier ones in shared pointers.
using AccumulatorRef = decltype(torch::autograd::impl::grad_accumulator(std::declval<at::Tensor>()));

struct ct_reducer_s {
  std::shared_ptr<ReducerState> state;
  // The accumulators are held so that the hooks live as long as the reducer (a parameter keeps
  // only a weak reference to its accumulator).
  std::vector<AccumulatorRef> accumulators;
  std::vector<uintptr_t> hooks;
};

extern "C" {

ct_reducer ct_reducer_new(ct_group g, const ct_tensor *parameters, const int *bucket, int n) {
  try {
    auto state = std::make_shared<ReducerState>();
    state->group = g;
    int buckets = 0;
    for (int i = 0; i < n; i++) {
      if (bucket[i] < 0) throw std::invalid_argument("negative bucket index");
      buckets = std::max(buckets, bucket[i] + 1);
    }
    state->buckets.resize(buckets);
    auto reducer = std::make_unique<ct_reducer_s>();
    for (int i = 0; i < n; i++) {
      const at::Tensor &p = ctorch::ref(parameters[i]);
      if (!p.requires_grad() || !p.is_leaf()) throw std::invalid_argument("parameter " + std::to_string(i) + " is not a leaf that requires grad");
      state->parameters.push_back(p);
      state->bucket_of.push_back(bucket[i]);
      state->buckets[bucket[i]].parameters.push_back(i);
      auto accumulator = torch::autograd::impl::grad_accumulator(p);
      reducer->hooks.push_back(accumulator->add_post_hook(std::make_unique<AccumulatedHook>(state, i)));
      reducer->accumulators.push_back(std::move(accumulator));
    }
    for (auto &b : state->buckets)
      if (b.parameters.empty()) throw std::invalid_argument("a bucket without parameters");
    state->accumulated.assign(n, false);
    reducer->state = std::move(state);
    return reducer.release();
  } catch (...) {
    ctorch::record_current_exception();
    return nullptr;
  }
}

void ct_reducer_free(ct_reducer r) {
  if (r == nullptr) return;
  for (size_t i = 0; i < r->accumulators.size(); i++) r->accumulators[i]->del_post_hook(r->hooks[i]);
  delete r;
}

int ct_reducer_arm(ct_reducer r) {
  return ctorch::guard_status([&] {
    ReducerState &s = *r->state;
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.next != 0) throw std::logic_error("gradient reducer armed again before finish()");
    s.accumulated.assign(s.parameters.size(), false);
    for (auto &b : s.buckets) b.pending = static_cast<int>(b.parameters.size());  // started_after: reset by finish()
    s.accumulated_count = 0;
    s.error.clear();
    s.armed = true;
  });
}

int ct_reducer_finish(ct_reducer r, int *started_after) {
  return ctorch::guard_status([&] {
    ReducerState &s = *r->state;
    std::lock_guard<std::mutex> lock(s.mutex);
    s.armed = false;
    // Whatever happens below, the next round starts from a clean state.
    struct Reset {
      ReducerState &s;
      ~Reset() {
        s.next = 0;
        for (auto &bucket : s.buckets) {
          bucket.work.reset();
          bucket.flat = at::Tensor();
          bucket.started_after = -1;
        }
      }
    } reset{s};
    if (!s.error.empty()) throw std::runtime_error("starting a gradient bucket's all-reduce: " + s.error);
    for (size_t b = 0; b < s.buckets.size(); b++) started_after[b] = s.buckets[b].started_after;
    while (s.next < s.buckets.size()) s.start(s.next++);
    const double scale = 1.0 / s.group->world;
    for (size_t b = 0; b < s.buckets.size(); b++) {
      Bucket &bucket = s.buckets[b];
      try {
        bucket.work->wait();
      } catch (const std::exception &e) {
        throw std::runtime_error("all-reduce of gradient bucket " + std::to_string(b) + " of " + std::to_string(s.buckets.size()) + " (" +
                                 std::to_string(bucket.parameters.size()) + " parameters): " + e.what());
      }
      bucket.flat.mul_(scale);
      int64_t offset = 0;
      for (int i : bucket.parameters) {
        at::Tensor &p = s.parameters[i];
        const int64_t n = p.numel();
        at::Tensor mean = bucket.flat.narrow(0, offset, n).view(p.sizes());
        if (p.grad().defined())
          p.mutable_grad().copy_(mean);
        else
          p.mutable_grad() = mean.clone();
        offset += n;
      }
    }
  });
}

}  // extern "C"
