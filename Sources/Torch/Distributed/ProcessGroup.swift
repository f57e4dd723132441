import CTorch

/// Where the ranks of a job meet: the rendezvous address (rank 0 serves c10d's TCPStore there),
/// this process's rank and the number of ranks; what `torchrun` passes as MASTER_ADDR,
/// MASTER_PORT, RANK and WORLD_SIZE.
public struct Rendezvous: Sendable, Equatable {
  public var host: String
  public var port: Int
  public var rank: Int
  public var worldSize: Int
  /// Bounds the rendezvous and every collective: a rank that died or hangs fails the call after it.
  public var timeoutSeconds: Double
  /// What carries collectives on CUDA tensors (CPU tensors always go through Gloo).
  public var backend: CollectiveBackend

  public init(
    host: String = "127.0.0.1", port: Int = 29500, rank: Int = 0, worldSize: Int = 1, timeoutSeconds: Double = 300,
    backend: CollectiveBackend = .gloo
  ) {
    self.host = host
    self.port = port
    self.rank = rank
    self.worldSize = worldSize
    self.timeoutSeconds = timeoutSeconds
    self.backend = backend
  }
}

/// torch.distributed's backends: Gloo for every tensor, or NCCL for CUDA tensors with Gloo for
/// the CPU ones (torch's "cpu:gloo,cuda:nccl").
public enum CollectiveBackend: String, Sendable, Equatable, CaseIterable {
  case gloo, nccl

  /// Whether the linked libtorch was built with NCCL (CUDA builds of PyTorch are).
  public static var ncclAvailable: Bool { ct_has_nccl() }
}

/// A torch.distributed process group (c10d over Gloo, NCCL for CUDA tensors when the rendezvous
/// asks for it): the ranks of one job, each a process or a
/// thread with a group of its own, and the collectives between them. Collectives are synchronous
/// and each rank must call the same ones in the same order; a failure names the collective and
/// the rank that saw it.
public final class ProcessGroup: @unchecked Sendable {
  // @unchecked: c10d's process group serialises its own work; one thread calls at a time.
  let raw: ct_group
  public let rendezvous: Rendezvous
  public var rank: Int { rendezvous.rank }
  public var worldSize: Int { rendezvous.worldSize }

  /// Joins the group; returns when all `worldSize` ranks have joined (or throws at the timeout).
  public init(_ rendezvous: Rendezvous) throws {
    let r = rendezvous
    guard let raw = ct_group_new(r.host, Int32(r.port), Int32(r.rank), Int32(r.worldSize), Int64(r.timeoutSeconds * 1000), r.backend == .nccl) else {
      throw TorchError.last("rank \(r.rank) of \(r.worldSize): joining the process group at \(r.host):\(r.port)")
    }
    self.raw = raw
    self.rendezvous = r
  }

  deinit { ct_group_free(raw) }

  private func context(_ collective: String) -> String { "rank \(rank) of \(worldSize): \(collective)" }

  /// `tensor` becomes the sum over ranks of each rank's `tensor` (contiguous tensors).
  public func allReduceSum(_ tensor: Tensor, _ what: String = "all-reduce") throws {
    try check(ct_group_all_reduce_sum(raw, tensor.raw), context(what))
  }

  /// `tensor` becomes rank `root`'s `tensor`.
  public func broadcast(_ tensor: Tensor, from root: Int = 0, _ what: String = "broadcast") throws {
    try check(ct_group_broadcast(raw, tensor.raw, Int32(root)), context(what))
  }

  /// Every rank's `tensor`, in rank order (same shape and dtype on every rank).
  public func allGather(_ tensor: Tensor, _ what: String = "all-gather") throws -> [Tensor] {
    var out = [ct_tensor?](repeating: nil, count: worldSize)
    try check(ct_group_all_gather(raw, tensor.raw, &out), context(what))
    return out.map { Tensor(owning: $0!) }
  }

  /// Returns when every rank has reached it.
  public func barrier(_ what: String = "barrier") throws { try check(ct_group_barrier(raw), context(what)) }
}

extension ProcessGroup {
  /// Every rank's bytes, in rank order (lengths may differ: gathered first, then the bytes
  /// padded to the longest).
  public func allGather(bytes: [UInt8], _ what: String = "all-gather") throws -> [[UInt8]] {
    let lengths = try allGather(Tensor([Int64(bytes.count)]), what + " (lengths)").map { Int(try $0.item()) }
    let longest = lengths.max() ?? 0
    guard longest > 0 else { return lengths.map { _ in [] } }
    let padded = bytes + [UInt8](repeating: 0, count: longest - bytes.count)
    let gathered = try allGather(Tensor(padded), what)
    return try zip(gathered, lengths).map { Array(try $0.0.scalars(as: UInt8.self).prefix($0.1)) }
  }
}
