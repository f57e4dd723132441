import CTorch

// Neural-network functions on tensors (stateless); the blocks in this folder hold the parameters.
extension Tensor {
  /// x @ weight^T + bias; weight [out, in].
  public func linear(weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
    try wrap(ct_linear(raw, weight.raw, bias?.raw), "linear(\(shape), weight \(weight.shape))")
  }

  /// 2-D convolution of [B, C, H, W] by weight [O, C/groups, kH, kW].
  public func conv2d(
    weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
    dilation: (Int, Int) = (1, 1), groups: Int = 1
  ) throws -> Tensor {
    let s = [Int64(stride.0), Int64(stride.1)]
    let p = [Int64(padding.0), Int64(padding.1)]
    let d = [Int64(dilation.0), Int64(dilation.1)]
    return try wrap(
      ct_conv2d(raw, weight.raw, bias?.raw, s, p, d, Int64(groups)),
      "conv2d(\(shape), weight \(weight.shape))")
  }

  /// Layer normalisation over the last `normalizedShape.count` dimensions.
  public func layerNorm(
    normalizedShape: [Int], weight: Tensor?, bias: Tensor?, eps: Double = 1e-5
  ) throws -> Tensor {
    let sizes = normalizedShape.map(Int64.init)
    return try wrap(
      ct_layer_norm(raw, sizes, Int32(sizes.count), weight?.raw, bias?.raw, eps),
      "layerNorm(\(shape), \(normalizedShape))")
  }

  /// Rows of `self` ([V, D] table) for int64 `indices` -> [..., D].
  public func embedding(_ indices: Tensor) throws -> Tensor {
    try wrap(ct_embedding(raw, indices.raw), "embedding(table \(shape), indices \(indices.shape))")
  }

  /// Zeroes elements with probability p and scales the rest by 1/(1-p) when `training`.
  public func dropout(_ p: Double, training: Bool) throws -> Tensor {
    guard training, p > 0 else { return self }
    return try wrap(ct_dropout(raw, p, training), "dropout(\(p))")
  }
}
