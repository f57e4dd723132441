import CTorch

extension Tensor {
  func reduce(_ op: ct_reduce_op, _ dims: [Int], _ keepDims: Bool, _ name: String) throws -> Tensor {
    let axes = dims.map(Int64.init)
    return try wrap(
      ct_reduce(Int32(op.rawValue), raw, axes, Int32(axes.count), keepDims), "\(name)(\(dims)) of \(shape)")
  }

  // Reductions over `dims` ([] = all dimensions).
  public func sum(dims: [Int] = [], keepDims: Bool = false) throws -> Tensor { try reduce(CT_SUM, dims, keepDims, "sum") }
  public func mean(dims: [Int] = [], keepDims: Bool = false) throws -> Tensor { try reduce(CT_MEAN, dims, keepDims, "mean") }
  public func max(dims: [Int] = [], keepDims: Bool = false) throws -> Tensor { try reduce(CT_AMAX, dims, keepDims, "max") }
  public func min(dims: [Int] = [], keepDims: Bool = false) throws -> Tensor { try reduce(CT_AMIN, dims, keepDims, "min") }
  /// Product over one dimension or all.
  public func prod(dims: [Int] = [], keepDims: Bool = false) throws -> Tensor { try reduce(CT_PROD, dims, keepDims, "prod") }
  /// Unbiased variance.
  public func variance(dims: [Int] = [], keepDims: Bool = false) throws -> Tensor { try reduce(CT_VAR, dims, keepDims, "variance") }
  /// Unbiased standard deviation.
  public func std(dims: [Int] = [], keepDims: Bool = false) throws -> Tensor { try reduce(CT_STD, dims, keepDims, "std") }
  public func logSumExp(dims: [Int] = [], keepDims: Bool = false) throws -> Tensor { try reduce(CT_LOGSUMEXP, dims, keepDims, "logSumExp") }
  /// Euclidean norm.
  public func norm(dims: [Int] = [], keepDims: Bool = false) throws -> Tensor { try reduce(CT_NORM2, dims, keepDims, "norm") }
  public func all(dims: [Int] = [], keepDims: Bool = false) throws -> Tensor { try reduce(CT_ALL, dims, keepDims, "all") }
  public func any(dims: [Int] = [], keepDims: Bool = false) throws -> Tensor { try reduce(CT_ANY, dims, keepDims, "any") }

  public func argmax(dim: Int, keepDims: Bool = false) throws -> Tensor {
    try wrap(ct_argmax(raw, Int64(dim), keepDims), "argmax(\(dim)) of \(shape)")
  }

  public func argmin(dim: Int, keepDims: Bool = false) throws -> Tensor {
    try wrap(ct_argmin(raw, Int64(dim), keepDims), "argmin(\(dim)) of \(shape)")
  }

  /// The k largest (or smallest) values along `dim`, sorted, with their int64 indices.
  public func topK(_ k: Int, dim: Int = -1, largest: Bool = true) throws -> (values: Tensor, indices: Tensor) {
    var values: ct_tensor?
    var indices: ct_tensor?
    try check(ct_topk(raw, Int64(k), Int64(dim), largest, &values, &indices), "topK(\(k)) of \(shape)")
    return (Tensor(owning: values!), Tensor(owning: indices!))
  }

  public func cumsum(dim: Int) throws -> Tensor {
    try wrap(ct_cumsum(raw, Int64(dim)), "cumsum(\(dim)) of \(shape)")
  }

  public func softmax(dim: Int) throws -> Tensor {
    try wrap(ct_softmax(raw, Int64(dim)), "softmax(\(dim)) of \(shape)")
  }

  public func logSoftmax(dim: Int) throws -> Tensor {
    try wrap(ct_log_softmax(raw, Int64(dim)), "logSoftmax(\(dim)) of \(shape)")
  }

  /// Draws `count` category indices per row of a [N, C] (or [C]) probability tensor.
  public func multinomial(count: Int, replacement: Bool = false, generator: Generator? = nil) throws -> Tensor {
    try wrap(
      ct_multinomial(raw, Int64(count), replacement, generator?.raw), "multinomial(\(count)) of \(shape)")
  }
}
