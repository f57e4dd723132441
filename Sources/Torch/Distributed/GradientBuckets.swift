/// DDP's bucket plan: gradients are packed into buckets in reverse parameter order, the order in
/// which a backward pass finishes them, each bucket about `bucketBytes` (25 MB) and the first
/// one at most `firstBucketBytes` (1 MB), so that the first all-reduce can start while most of
/// the backward is still to come (DDP's `bucket_cap_mb` and first-bucket cap).
public struct GradientBuckets: Sendable {
  public var bucketBytes: Int
  public var firstBucketBytes: Int

  public init(bucketBytes: Int = 25 << 20, firstBucketBytes: Int = 1 << 20) {
    self.bucketBytes = bucketBytes
    self.firstBucketBytes = firstBucketBytes
  }

  /// Parameter indices per bucket for these parameters, last parameter first.
  public func plan(_ parameters: [Tensor]) -> [[Int]] {
    var buckets: [[Int]] = [], current: [Int] = [], bytes = 0
    for i in parameters.indices.reversed() {
      let size = parameters[i].elementCount * parameters[i].dtype.byteSize
      let cap = buckets.isEmpty ? firstBucketBytes : bucketBytes
      if !current.isEmpty && bytes + size > cap {
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
}
