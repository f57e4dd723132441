import CTorch

/// Averages the gradients of `parameters` over a process group's ranks in `GradientBuckets`,
/// DDP's reducer: after `arm()`, the next `backward(into:)` starts each bucket's all-reduce as
/// soon as the backward has accumulated its gradients, so the communication of the last layers
/// overlaps the backward of the first ones; `finish()` starts the buckets that did not start
/// (all of them when nothing was armed, such as gradients computed another way), waits, and
/// replaces each gradient by its mean over the ranks. Every rank must make the same calls in the
/// same order, with the same parameters: the buckets are collectives.
public final class GradientReducer: @unchecked Sendable {
  // @unchecked: the shim guards its state with a mutex (hooks run on autograd's threads).
  private let raw: ct_reducer
  public let group: ProcessGroup
  public let buckets: [[Int]]
  /// Per bucket, in the last round: how many of the parameters' gradients the armed backward
  /// had accumulated when the bucket's all-reduce started (fewer than all: it overlapped the
  /// rest of the backward); nil where `finish()` started it.
  public private(set) var startedAfter: [Int?] = []

  public init(_ parameters: [Tensor], over group: ProcessGroup, buckets plan: GradientBuckets = GradientBuckets()) throws {
    let buckets = plan.plan(parameters)
    var bucketOf = [Int32](repeating: 0, count: parameters.count)
    for (b, members) in buckets.enumerated() { for i in members { bucketOf[i] = Int32(b) } }
    let handles: [ct_tensor?] = parameters.map(\.raw)
    guard let raw = ct_reducer_new(group.raw, handles, bucketOf, Int32(parameters.count)) else {
      throw TorchError.last("gradient reducer over \(parameters.count) parameters")
    }
    self.raw = raw
    self.group = group
    self.buckets = buckets
  }

  deinit { ct_reducer_free(raw) }

  /// The next backward starts the buckets' all-reduces as their gradients are accumulated.
  public func arm() throws { try check(ct_reducer_arm(raw), "arming the gradient reducer") }

  /// Every parameter's gradient becomes its mean over the ranks (zeros stand in for a missing one).
  public func finish() throws {
    var started = [Int32](repeating: -1, count: buckets.count)
    try check(ct_reducer_finish(raw, &started), "rank \(group.rank) of \(group.worldSize): gradient averaging")
    startedAfter = started.map { $0 < 0 ? nil : Int($0) }
  }
}
