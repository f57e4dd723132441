import Torch

/// Grouped-query self-attention with rotary embeddings (Hugging Face names: q_proj, k_proj,
/// v_proj, o_proj; no biases).
final class LlamaAttention: Module {
  let qProj: Linear, kProj: Linear, vProj: Linear, oProj: Linear
  let heads: Int, kvHeads: Int, headDim: Int

  init(_ c: LlamaConfig, generator: Generator?) throws {
    heads = c.numAttentionHeads
    kvHeads = c.numKeyValueHeads
    headDim = c.headDim
    qProj = try Linear(c.hiddenSize, heads * headDim, bias: false, generator: generator)
    kProj = try Linear(c.hiddenSize, kvHeads * headDim, bias: false, generator: generator)
    vProj = try Linear(c.hiddenSize, kvHeads * headDim, bias: false, generator: generator)
    oProj = try Linear(heads * headDim, c.hiddenSize, bias: false, generator: generator)
  }

  var children: [(name: String, module: any Module)] {
    [("q_proj", qProj), ("k_proj", kProj), ("v_proj", vProj), ("o_proj", oProj)]
  }

  /// x [B, T, D] -> [B, T, D]. `mask` [B, 1, T, S] bool (true = attend), S = cached + T.
  func callAsFunction(
    _ x: Tensor, rotary: Rotary, cos: Tensor, sin: Tensor, mask: Tensor, cache: KVCache?, layer: Int
  ) throws -> Tensor {
    let (b, t) = (x.size(0), x.size(1))
    let q = try rotary.apply(qProj(x).view([b, t, heads, headDim]).transpose(1, 2), cos: cos, sin: sin)  // [B, H, T, hd]
    var k = try rotary.apply(kProj(x).view([b, t, kvHeads, headDim]).transpose(1, 2), cos: cos, sin: sin)  // [B, KV, T, hd]
    var v = try vProj(x).view([b, t, kvHeads, headDim]).transpose(1, 2)
    if let cache { (k, v) = try cache.append(layer: layer, keys: k, values: v) }  // [B, KV, S, hd]
    if kvHeads != heads {
      k = try repeatHeads(k, times: heads / kvHeads)
      v = try repeatHeads(v, times: heads / kvHeads)
    }
    let attended = try Attention.scaledDotProduct(query: q, key: k, value: v, mask: mask)  // [B, H, T, hd]
    return try oProj(attended.transpose(1, 2).reshape([b, t, heads * headDim]))
  }
}

/// SwiGLU feed-forward: down(silu(gate(x)) * up(x)).
final class LlamaMLP: Module {
  let gateProj: Linear, upProj: Linear, downProj: Linear

  init(_ c: LlamaConfig, generator: Generator?) throws {
    gateProj = try Linear(c.hiddenSize, c.intermediateSize, bias: false, generator: generator)
    upProj = try Linear(c.hiddenSize, c.intermediateSize, bias: false, generator: generator)
    downProj = try Linear(c.intermediateSize, c.hiddenSize, bias: false, generator: generator)
  }

  var children: [(name: String, module: any Module)] { [("gate_proj", gateProj), ("up_proj", upProj), ("down_proj", downProj)] }

  func callAsFunction(_ x: Tensor) throws -> Tensor { try downProj(gateProj(x).silu() * upProj(x)) }
}

/// Pre-norm decoder layer.
final class LlamaDecoderLayer: Module {
  let inputNorm: RMSNorm, attention: LlamaAttention, postAttentionNorm: RMSNorm, mlp: LlamaMLP

  init(_ c: LlamaConfig, generator: Generator?) throws {
    inputNorm = try RMSNorm(c.hiddenSize, eps: c.rmsNormEps)
    attention = try LlamaAttention(c, generator: generator)
    postAttentionNorm = try RMSNorm(c.hiddenSize, eps: c.rmsNormEps)
    mlp = try LlamaMLP(c, generator: generator)
  }

  var children: [(name: String, module: any Module)] {
    [("input_layernorm", inputNorm), ("self_attn", attention), ("post_attention_layernorm", postAttentionNorm), ("mlp", mlp)]
  }
}

/// The decoder stack (Hugging Face's LlamaModel: embed_tokens, layers, norm).
public final class LlamaModel: Module {
  public let config: LlamaConfig
  public let embedTokens: Embedding
  let layers: ModuleList<LlamaDecoderLayer>
  let norm: RMSNorm
  let rotary: Rotary

  init(_ c: LlamaConfig, generator: Generator?) throws {
    try c.validate()
    config = c
    embedTokens = try Embedding(c.vocabSize, c.hiddenSize, generator: generator)
    layers = ModuleList(try (0..<c.numHiddenLayers).map { _ in try LlamaDecoderLayer(c, generator: generator) })
    norm = try RMSNorm(c.hiddenSize, eps: c.rmsNormEps)
    rotary = Rotary(headDim: c.headDim, theta: c.ropeTheta)
  }

  public var children: [(name: String, module: any Module)] {
    [("embed_tokens", embedTokens), ("layers", layers), ("norm", norm)]
  }

  /// Final hidden states [B, T, D] of input embeddings [B, T, D] at positions [B, T] (int64),
  /// with attention mask [B, 1, T, S] (true = attend; S = cached + T). With a cache, keys and
  /// values of these positions are appended to it.
  public func callAsFunction(embeddings: Tensor, positions: Tensor, mask: Tensor, cache: KVCache? = nil) throws -> Tensor {
    let (cos, sin) = try rotary.tables(positions: positions)
    var h = embeddings
    for (i, layer) in layers.modules.enumerated() {
      h = try h + layer.attention(layer.inputNorm(h), rotary: rotary, cos: cos, sin: sin, mask: mask, cache: cache, layer: i)
      h = try h + layer.mlp(layer.postAttentionNorm(h))
    }
    return try norm(h)
  }
}

/// Decoder plus language-model head (Hugging Face's LlamaForCausalLM names: model.*, lm_head).
public final class LlamaForCausalLM: Module {
  public let model: LlamaModel
  public let lmHead: Linear

  public init(_ c: LlamaConfig, generator: Generator? = nil) throws {
    model = try LlamaModel(c, generator: generator)
    lmHead = try Linear(c.hiddenSize, c.vocabSize, bias: false, generator: generator)
  }

  public var children: [(name: String, module: any Module)] { [("model", model), ("lm_head", lmHead)] }
  public var config: LlamaConfig { model.config }

  /// Logits [B, T, V] for token ids [B, T] with a plain causal mask (positions 0 ..< T).
  public func logits(tokens: Tensor) throws -> Tensor {
    let (b, t) = (tokens.size(0), tokens.size(1))
    let positions = try Tensor.arange(0, Double(t), device: tokens.device).unsqueeze(0).expand([b, t])
    let mask = try Attention.causalMask(queries: t, keys: t, device: tokens.device).unsqueeze(0).unsqueeze(0)
    return try lmHead(model(embeddings: model.embedTokens(tokens), positions: positions, mask: mask))
  }
}
