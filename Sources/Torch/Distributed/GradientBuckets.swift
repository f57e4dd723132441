/// Gradient averaging over the ranks of a process group, DDP's way: gradients are packed into
/// buckets of about `bucketBytes` (25 MB by default) in reverse parameter order, the order in
/// which a backward pass finishes them, and each bucket is summed over ranks with one
/// all-reduce, then divided by the number of ranks.
public struct GradientBuckets: Sendable {
  public var bucketBytes: Int

  public init(bucketBytes: Int = 25 << 20) { self.bucketBytes = bucketBytes }

  /// Parameter indices per bucket for these parameters, last parameter first.
  public func plan(_ parameters: [Tensor]) -> [[Int]] {
    var buckets: [[Int]] = [], current: [Int] = [], bytes = 0
    for i in parameters.indices.reversed() {
      let size = parameters[i].elementCount * parameters[i].dtype.byteSize
      if !current.isEmpty && bytes + size > bucketBytes {
        buckets.append(current)
        current = []
        bytes = 0
      }
      current.append(i)
      bytes += size
    }
    if !current.isEmpty { buckets.append(current) }
    return buckets
  }

  /// Whether every rank's gradients are usable: one all-reduce of the count of ranks that are
  /// not, so that all ranks skip a step together (collectives must stay in step).
  public static func allFinite(_ finite: Bool, over group: ProcessGroup) throws -> Bool {
    let bad = try Tensor([Float(finite ? 0 : 1)])
    try group.allReduceSum(bad, "agreeing on finite gradients")
    return try bad.item() == 0
  }

  /// Replaces each parameter's gradient by its mean over the group's ranks. Every parameter must
  /// hold a gradient (of its own dtype).
  public func average(_ parameters: [Tensor], over group: ProcessGroup) throws {
    let scale = 1 / Double(group.worldSize)
    for (b, bucket) in plan(parameters).enumerated() {
      let grads = try bucket.map { i -> Tensor in
        guard let g = parameters[i].grad else { throw TorchError("gradient averaging: parameter \(i) has no gradient") }
        return g
      }
      let flat = try Tensor.cat(grads.map { try $0.reshape([-1]) })  // [sum of numels]
      try group.allReduceSum(flat, "all-reduce of gradient bucket \(b) (\(grads.count) parameters)")
      try flat.multiplyInPlace(scale)
      var offset = 0
      for g in grads {
        let n = g.elementCount
        try g.copyFrom(flat.slice(dim: 0, start: offset, end: offset + n).reshape(g.shape))  // a view: one copy
        offset += n
      }
    }
  }
}
