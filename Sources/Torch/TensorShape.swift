import CTorch

extension Tensor {
  /// Same data, new shape (copies only if the layout requires it). One entry may be -1.
  public func reshape(_ shape: [Int]) throws -> Tensor {
    let sizes = shape.map(Int64.init)
    return try wrap(ct_reshape(raw, sizes, Int32(sizes.count)), "reshape(\(self.shape) -> \(shape))")
  }

  /// Same storage, new shape; fails when the layout does not allow a view.
  public func view(_ shape: [Int]) throws -> Tensor {
    let sizes = shape.map(Int64.init)
    return try wrap(ct_view(raw, sizes, Int32(sizes.count)), "view(\(self.shape) -> \(shape))")
  }

  public func permute(_ dims: [Int]) throws -> Tensor {
    let order = dims.map(Int64.init)
    return try wrap(ct_permute(raw, order, Int32(order.count)), "permute(\(dims)) of \(shape)")
  }

  public func transpose(_ d0: Int, _ d1: Int) throws -> Tensor {
    try wrap(ct_transpose(raw, Int64(d0), Int64(d1)), "transpose(\(d0), \(d1)) of \(shape)")
  }

  public func unsqueeze(_ dim: Int) throws -> Tensor {
    try wrap(ct_unsqueeze(raw, Int64(dim)), "unsqueeze(\(dim)) of \(shape)")
  }

  public func squeeze(_ dim: Int) throws -> Tensor {
    try wrap(ct_squeeze(raw, Int64(dim)), "squeeze(\(dim)) of \(shape)")
  }

  public func flatten(from start: Int = 0, to end: Int = -1) throws -> Tensor {
    try wrap(ct_flatten(raw, Int64(start), Int64(end)), "flatten(\(start), \(end)) of \(shape)")
  }

  /// Broadcasts size-1 dimensions to `shape` without copying (-1 keeps a size).
  public func expand(_ shape: [Int]) throws -> Tensor {
    let sizes = shape.map(Int64.init)
    return try wrap(ct_expand(raw, sizes, Int32(sizes.count)), "expand(\(self.shape) -> \(shape))")
  }

  /// Tiles the tensor `repeats[i]` times along dimension i.
  public func repeated(_ repeats: [Int]) throws -> Tensor {
    let counts = repeats.map(Int64.init)
    return try wrap(ct_repeat(raw, counts, Int32(counts.count)), "repeat(\(repeats)) of \(shape)")
  }

  /// Elements start..<end (step apart) along `dim`; bounds are clamped like Python slices.
  public func slice(dim: Int, start: Int = 0, end: Int = Int.max, step: Int = 1) throws -> Tensor {
    try wrap(
      ct_slice(raw, Int64(dim), Int64(start), Int64(end), Int64(step)),
      "slice(dim: \(dim), \(start)..<\(end)) of \(shape)")
  }

  /// Removes `dim` by taking index `index` of it.
  public func select(dim: Int, index: Int) throws -> Tensor {
    try wrap(ct_select(raw, Int64(dim), Int64(index)), "select(dim: \(dim), index: \(index)) of \(shape)")
  }

  /// `count` nearly equal consecutive pieces along `dim` (views).
  public func chunked(_ count: Int, dim: Int = 0) throws -> [Tensor] {
    let total = size(dim)
    let piece = (total + count - 1) / count
    return try stride(from: 0, to: total, by: piece).map {
      try slice(dim: dim, start: $0, end: $0 + piece)
    }
  }

  public static func cat(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
    let raws: [ct_tensor?] = tensors.map { $0.raw }
    return try withExtendedLifetime(tensors) {
      try wrap(ct_cat(raws, Int32(raws.count), Int64(dim)), "cat(\(tensors.map(\.shape)), dim: \(dim))")
    }
  }

  public static func stack(_ tensors: [Tensor], dim: Int = 0) throws -> Tensor {
    let raws: [ct_tensor?] = tensors.map { $0.raw }
    return try withExtendedLifetime(tensors) {
      try wrap(ct_stack(raws, Int32(raws.count), Int64(dim)), "stack(\(tensors.map(\.shape)), dim: \(dim))")
    }
  }

  /// out[i][j] = self[i][index[i][j]] along `dim` (index: int64, same rank).
  public func gather(dim: Int, index: Tensor) throws -> Tensor {
    try wrap(ct_gather(raw, Int64(dim), index.raw), "gather(dim: \(dim)) of \(shape) by \(index.shape)")
  }

  /// self with `source` values added at `index` along `dim`.
  public func scatterAdd(dim: Int, index: Tensor, source: Tensor) throws -> Tensor {
    try wrap(ct_scatter_add(raw, Int64(dim), index.raw, source.raw), "scatterAdd(dim: \(dim))")
  }

  /// Rows (along `dim`) picked by a 1-D int64 index.
  public func indexSelect(dim: Int, index: Tensor) throws -> Tensor {
    try wrap(ct_index_select(raw, Int64(dim), index.raw), "indexSelect(dim: \(dim)) of \(shape)")
  }

  /// `value` where `mask` (bool, broadcastable) is true.
  public func maskedFill(_ mask: Tensor, value: Double) throws -> Tensor {
    try wrap(ct_masked_fill(raw, mask.raw, value), "maskedFill \(shape) by \(mask.shape)")
  }

  /// The elements where `mask` is true, as a 1-D tensor.
  public func maskedSelect(_ mask: Tensor) throws -> Tensor {
    try wrap(ct_masked_select(raw, mask.raw), "maskedSelect \(shape) by \(mask.shape)")
  }

  /// Elementwise `condition ? a : b` (broadcasting).
  public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
    try wrap(ct_where(condition.raw, a.raw, b.raw), "where(\(condition.shape), \(a.shape), \(b.shape))")
  }

  /// Lower triangle (elements above diagonal `k` zeroed).
  public func lowerTriangle(_ k: Int = 0) throws -> Tensor { try wrap(ct_tril(raw, Int64(k)), "tril") }

  /// Upper triangle (elements below diagonal `k` zeroed).
  public func upperTriangle(_ k: Int = 0) throws -> Tensor { try wrap(ct_triu(raw, Int64(k)), "triu") }

  /// int64 class ids -> one-hot int64 vectors of length `classes`.
  public func oneHot(classes: Int) throws -> Tensor {
    try wrap(ct_one_hot(raw, Int64(classes)), "oneHot(\(classes))")
  }
}
