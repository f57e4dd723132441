// Process groups of c10d, libtorch's torch.distributed engine: rendezvous through a TCPStore
// (rank 0 serves it), collectives through ProcessGroupGloo, and through ProcessGroupNCCL for
// CUDA tensors where libtorch has NCCL and the caller asks for it. Every collective here is
// synchronous and bounded by the group's timeout, so a rank that died or hangs surfaces as an
// error.
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <string>
#include <vector>

#include "group.h"

namespace {

bool is_loopback(const std::string &host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

}  // namespace

extern "C" {

bool ct_has_nccl(void) {
#ifdef USE_C10D_NCCL
  return true;
#else
  return false;
#endif
}

ct_group ct_group_new(const char *host, int port, int rank, int world, int64_t timeout_ms, bool nccl) {
  try {
    if (world < 1 || rank < 0 || rank >= world) throw std::invalid_argument("rank out of range");
    if (port < 1 || port > 65535) throw std::invalid_argument("port out of range");
    auto timeout = std::chrono::milliseconds(timeout_ms);
    c10d::TCPStoreOptions storeOptions;
    storeOptions.port = static_cast<std::uint16_t>(port);
    storeOptions.isServer = rank == 0;
    storeOptions.numWorkers = static_cast<std::size_t>(world);
    storeOptions.waitWorkers = true;
    storeOptions.timeout = timeout;
    auto store = c10::make_intrusive<c10d::TCPStore>(std::string(host), storeOptions);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    // On loopback the transport binds to the loopback interface; otherwise to the interface of
    // this machine's hostname (c10d's default device, overridable with GLOO_SOCKET_IFNAME).
    options->devices.push_back(is_loopback(host) ? c10d::ProcessGroupGloo::createDeviceForHostname(host)
                                                 : c10d::ProcessGroupGloo::createDefaultDevice());
    options->threads = 2;
    // Each backend keys its rendezvous under its own prefix of the one store.
    c10::intrusive_ptr<ctorch::Collectives> gloo =
        c10::make_intrusive<c10d::ProcessGroupGloo>(c10::make_intrusive<c10d::PrefixStore>("gloo", store), rank, world, options);
    c10::intrusive_ptr<ctorch::Collectives> cuda;
    if (nccl) {
#ifdef USE_C10D_NCCL
      auto ncclOptions = c10d::ProcessGroupNCCL::Options::create();
      ncclOptions->timeout = timeout;
      cuda = c10::make_intrusive<c10d::ProcessGroupNCCL>(c10::make_intrusive<c10d::PrefixStore>("nccl", store), rank, world, ncclOptions);
#else
      throw std::invalid_argument("the NCCL backend needs a libtorch built with NCCL (a CUDA build); this one has Gloo only");
#endif
    }
    return new ct_group_s{store, gloo, cuda, rank, world};
  } catch (...) {
    ctorch::record_current_exception();
    return nullptr;
  }
}

void ct_group_free(ct_group g) { delete g; }

int ct_group_all_reduce_sum(ct_group g, ct_tensor t) {
  return ctorch::guard_status([&] {
    std::vector<at::Tensor> tensors{ctorch::ref(t)};
    g->for_tensor(tensors[0]).allreduce(tensors)->wait();
  });
}

int ct_group_broadcast(ct_group g, ct_tensor t, int root) {
  return ctorch::guard_status([&] {
    std::vector<at::Tensor> tensors{ctorch::ref(t)};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    g->for_tensor(tensors[0]).broadcast(tensors, options)->wait();
  });
}

int ct_group_all_gather(ct_group g, ct_tensor t, ct_tensor *out) {
  return ctorch::guard_status([&] {
    const at::Tensor &input = ctorch::ref(t);
    std::vector<at::Tensor> gathered;
    for (int r = 0; r < g->world; r++) gathered.push_back(at::empty_like(input));
    std::vector<std::vector<at::Tensor>> outputs{gathered};
    std::vector<at::Tensor> inputs{input};
    g->for_tensor(input).allgather(outputs, inputs)->wait();
    for (int r = 0; r < g->world; r++) out[r] = new ct_tensor_s{outputs[0][r]};
  });
}

int ct_group_barrier(ct_group g) {
  return ctorch::guard_status([&] { g->gloo->barrier()->wait(); });  // Gloo: NCCL's barrier needs a device
}

}  // extern "C"
