// The process-group handle shared by distributed.cpp (joining, collectives) and reducer.cpp
// (gradient averaging that overlaps the backward). Gloo carries every CPU tensor; where the
// linked libtorch has NCCL and the group was asked for it, NCCL carries the CUDA tensors, as
// torch.distributed's "cpu:gloo,cuda:nccl" backend does.
#pragma once

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/version.h>

#include "internal.h"

namespace ctorch {
// What runs collectives: libtorch 2 split process groups into backends; 1.13 has none.
#if TORCH_VERSION_MAJOR >= 2
using Collectives = c10d::Backend;
#else
using Collectives = c10d::ProcessGroup;
#endif
}  // namespace ctorch

struct ct_group_s {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<ctorch::Collectives> gloo;
  c10::intrusive_ptr<ctorch::Collectives> nccl;  // null unless asked for (and built with NCCL)
  int rank;
  int world;

  // The backend for a collective on `tensor`.
  ctorch::Collectives &for_tensor(const at::Tensor &tensor) {
    return tensor.is_cuda() && nccl ? *nccl : *gloo;
  }
};
