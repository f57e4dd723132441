// Process groups of c10d, libtorch's torch.distributed engine: rendezvous through a TCPStore
// (rank 0 serves it), collectives through ProcessGroupGloo. Every collective is synchronous
// and bounded by the group's timeout, so a rank that died or hangs surfaces as an error here.
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "internal.h"

struct ct_group_s {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
  int rank;
  int world;
};

namespace {

bool is_loopback(const std::string &host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

}  // namespace

extern "C" {

ct_group ct_group_new_gloo(const char *host, int port, int rank, int world, int64_t timeout_ms) {
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
    auto gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, options);
    return new ct_group_s{store, gloo, rank, world};
  } catch (...) {
    ctorch::record_current_exception();
    return nullptr;
  }
}

void ct_group_free(ct_group g) { delete g; }

int ct_group_all_reduce_sum(ct_group g, ct_tensor t) {
  return ctorch::guard_status([&] {
    std::vector<at::Tensor> tensors{ctorch::ref(t)};
    g->gloo->allreduce(tensors)->wait();
  });
}

int ct_group_broadcast(ct_group g, ct_tensor t, int root) {
  return ctorch::guard_status([&] {
    std::vector<at::Tensor> tensors{ctorch::ref(t)};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    g->gloo->broadcast(tensors, options)->wait();
  });
}

int ct_group_all_gather(ct_group g, ct_tensor t, ct_tensor *out) {
  return ctorch::guard_status([&] {
    const at::Tensor &input = ctorch::ref(t);
    std::vector<at::Tensor> gathered;
    for (int r = 0; r < g->world; r++) gathered.push_back(at::empty_like(input));
    std::vector<std::vector<at::Tensor>> outputs{gathered};
    std::vector<at::Tensor> inputs{input};
    g->gloo->allgather(outputs, inputs)->wait();
    for (int r = 0; r < g->world; r++) out[r] = new ct_tensor_s{outputs[0][r]};
  });
}

int ct_group_barrier(ct_group g) {
  return ctorch::guard_status([&] { g->gloo->barrier()->wait(); });
}

}  // extern "C"
