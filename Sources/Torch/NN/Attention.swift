import CTorch

/// Scaled dot-product attention and the masks it takes.
///
/// Masks are bool tensors broadcastable to [B, H, T, S] where true means "may attend". The fused
/// libtorch kernel is used when the linked libtorch has one (2.0 and later) and no dropout is
/// asked; otherwise the textbook matmul + softmax form.
public enum Attention {
  /// Causal mask [T, S] for T queries that are the last T of S positions (so it also serves KV-cache
  /// decoding, where T < S): query i sees keys 0 ... S - T + i.
  public static func causalMask(queries: Int, keys: Int, device: Device = .cpu) throws -> Tensor {
    try Tensor.ones([queries, keys], dtype: .bool, device: device).lowerTriangle(keys - queries)
  }

  /// Padding mask [B, 1, 1, S] from `valid` [B, S] (true = real token).
  public static func paddingMask(valid: Tensor) throws -> Tensor {
    try valid.to(dtype: .bool).unsqueeze(1).unsqueeze(1)
  }

  /// softmax(q k^T / sqrt(d) masked) v for q [B, H, T, D], k and v [B, H, S, D] -> [B, H, T, D].
  public static func scaledDotProduct(
    query q: Tensor, key k: Tensor, value v: Tensor, mask: Tensor? = nil, causal: Bool = false,
    dropout: Double = 0, training: Bool = false
  ) throws -> Tensor {
    let t = q.size(-2)
    let s = k.size(-2)
    var allowed = mask
    if causal && (mask != nil || t != s) {
      let causalMask = try causalMask(queries: t, keys: s, device: q.device)
      allowed = try allowed.map { try $0.logicalAnd(causalMask) } ?? causalMask
    }
    let useCausalFlag = causal && allowed == nil
    let useDropout = training && dropout > 0
    if TorchRuntime.hasFusedAttention && !useDropout {
      return try wrap(
        ct_fused_attention(q.raw, k.raw, v.raw, allowed?.raw, useCausalFlag), "fused attention")
    }
    let scale = 1 / Double(q.size(-1)).squareRoot()
    var scores = try q.matmul(k.transpose(-2, -1)) * scale  // [B, H, T, S]
    if useCausalFlag { allowed = try causalMask(queries: t, keys: s, device: q.device) }
    if let allowed {
      // The dtype's lowest finite value rather than -inf: a fully masked row (a padding query)
      // then gives uniform weights instead of NaN.
      scores = try scores.maskedFill(allowed.logicalNot(), value: lowestFinite(scores.dtype))
    }
    let weights = try scores.softmax(dim: -1).dropout(dropout, training: useDropout)
    return try weights.matmul(v)
  }

  static func lowestFinite(_ dtype: DType) -> Double {
    switch dtype {
    case .float16: -65504
    case .bfloat16: -3.38e38
    case .float32: -Double(Float.greatestFiniteMagnitude)
    default: -Double.greatestFiniteMagnitude
    }
  }
}

/// Multi-head attention with separate q/k/v/out projections and optional grouped-query heads
/// (`kvHeads` < `heads`, each key/value head shared by heads / kvHeads query heads).
public final class MultiHeadAttention: Module {
  public let qProj: Linear, kProj: Linear, vProj: Linear, outProj: Linear
  public let heads: Int
  public let kvHeads: Int
  public let dropout: Double

  public init(
    dim: Int, heads: Int, kvHeads: Int? = nil, bias: Bool = true, dropout: Double = 0,
    generator: Generator? = nil
  ) throws {
    let kvHeads = kvHeads ?? heads
    guard dim % heads == 0, heads % kvHeads == 0 else {
      throw TorchError("attention: dim \(dim) must divide into \(heads) heads, and heads into \(kvHeads) kv heads")
    }
    let headDim = dim / heads
    qProj = try Linear(dim, dim, bias: bias, generator: generator)
    kProj = try Linear(dim, kvHeads * headDim, bias: bias, generator: generator)
    vProj = try Linear(dim, kvHeads * headDim, bias: bias, generator: generator)
    outProj = try Linear(dim, dim, bias: bias, generator: generator)
    self.heads = heads
    self.kvHeads = kvHeads
    self.dropout = dropout
  }

  public var children: [(name: String, module: any Module)] {
    [("q_proj", qProj), ("k_proj", kProj), ("v_proj", vProj), ("out_proj", outProj)]
  }

  /// x [B, T, D] attends to context [B, S, D] (x itself when nil) -> [B, T, D].
  public func callAsFunction(
    _ x: Tensor, context: Tensor? = nil, mask: Tensor? = nil, causal: Bool = false, training: Bool = false
  ) throws -> Tensor {
    let source = context ?? x
    let (b, t, d) = (x.size(0), x.size(1), x.size(2))
    let s = source.size(1)
    let headDim = d / heads
    let q = try qProj(x).view([b, t, heads, headDim]).transpose(1, 2)  // [B, H, T, hd]
    var k = try kProj(source).view([b, s, kvHeads, headDim]).transpose(1, 2)  // [B, KV, S, hd]
    var v = try vProj(source).view([b, s, kvHeads, headDim]).transpose(1, 2)
    if kvHeads != heads {
      k = try repeatHeads(k, times: heads / kvHeads)  // [B, H, S, hd]
      v = try repeatHeads(v, times: heads / kvHeads)
    }
    let attended = try Attention.scaledDotProduct(
      query: q, key: k, value: v, mask: mask, causal: causal, dropout: dropout, training: training)
    return try outProj(attended.transpose(1, 2).reshape([b, t, d]))
  }
}

/// [B, KV, S, hd] -> [B, KV * times, S, hd], each kv head repeated for its group of query heads.
public func repeatHeads(_ x: Tensor, times: Int) throws -> Tensor {
  let (b, kv, s, hd) = (x.size(0), x.size(1), x.size(2), x.size(3))
  return try x.unsqueeze(2).expand([b, kv, times, s, hd]).reshape([b, kv * times, s, hd])
}
