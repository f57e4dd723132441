import Torch

/// timm's ViT attention: one fused qkv projection, then proj.
final class ViTAttention: Module {
  let qkv: Linear, proj: Linear
  let heads: Int

  init(_ c: ViTConfig, generator: Generator?) throws {
    heads = c.numHeads
    qkv = try Linear(c.embedDim, 3 * c.embedDim, generator: generator)
    proj = try Linear(c.embedDim, c.embedDim, generator: generator)
  }

  var children: [(name: String, module: any Module)] { [("qkv", qkv), ("proj", proj)] }

  // [B, N, D] -> [B, N, D], every token attending to every token.
  func callAsFunction(_ x: Tensor) throws -> Tensor {
    let (b, n, d) = (x.size(0), x.size(1), x.size(2))
    let qkv = try self.qkv(x).view([b, n, 3, heads, d / heads]).permute([2, 0, 3, 1, 4])  // [3, B, H, N, hd]
    let attended = try Attention.scaledDotProduct(
      query: qkv.select(dim: 0, index: 0), key: qkv.select(dim: 0, index: 1), value: qkv.select(dim: 0, index: 2))
    return try proj(attended.transpose(1, 2).reshape([b, n, d]))
  }
}

/// fc1 -> GELU -> fc2.
final class ViTMlp: Module {
  let fc1: Linear, fc2: Linear
  let tanhGELU: Bool

  init(_ c: ViTConfig, generator: Generator?) throws {
    let hidden = Int(Double(c.embedDim) * c.mlpRatio)
    fc1 = try Linear(c.embedDim, hidden, generator: generator)
    fc2 = try Linear(hidden, c.embedDim, generator: generator)
    tanhGELU = c.geluTanh
  }

  var children: [(name: String, module: any Module)] { [("fc1", fc1), ("fc2", fc2)] }
  func callAsFunction(_ x: Tensor) throws -> Tensor { try fc2(fc1(x).gelu(approximateTanh: tanhGELU)) }
}

/// Per-channel scale of a residual branch (DINOv2's LayerScale: `gamma`).
final class LayerScale: Module {
  let gamma: Tensor
  init(_ dim: Int) throws { gamma = try Tensor.full([dim], value: 1e-5).requiringGrad() }
  var ownParameters: [(name: String, tensor: Tensor)] { [("gamma", gamma)] }
}

final class ViTBlock: Module {
  let norm1: LayerNorm, attention: ViTAttention, norm2: LayerNorm, mlp: ViTMlp
  let ls1: LayerScale?, ls2: LayerScale?

  init(_ c: ViTConfig, generator: Generator?) throws {
    norm1 = try LayerNorm(c.embedDim, eps: 1e-6)
    attention = try ViTAttention(c, generator: generator)
    norm2 = try LayerNorm(c.embedDim, eps: 1e-6)
    mlp = try ViTMlp(c, generator: generator)
    ls1 = c.layerScale ? try LayerScale(c.embedDim) : nil
    ls2 = c.layerScale ? try LayerScale(c.embedDim) : nil
  }

  var children: [(name: String, module: any Module)] {
    var list: [(name: String, module: any Module)] = [("norm1", norm1), ("attn", attention)]
    if let ls1 { list.append(("ls1", ls1)) }
    list += [("norm2", norm2), ("mlp", mlp)]
    if let ls2 { list.append(("ls2", ls2)) }
    return list
  }

  // [B, N, D] -> [B, N, D]
  func callAsFunction(_ x: Tensor) throws -> Tensor {
    var branch = try attention(norm1(x))
    if let ls1 { branch = try branch * ls1.gamma }
    let h = try x + branch
    var mlpBranch = try mlp(norm2(h))
    if let ls2 { mlpBranch = try mlpBranch * ls2.gamma }
    return try h + mlpBranch
  }
}

/// A vision transformer with timm's parameter names (patch_embed.proj, cls_token, reg_token,
/// pos_embed, blocks.N.*, norm), so DINOv2 and SigLIP weights load as they are.
public final class VisionTransformer: Module {
  public let config: ViTConfig
  let patchEmbed: Conv2d
  let classToken: Tensor?     // [1, 1, D]
  let registerTokens: Tensor?  // [1, R, D]
  let positionEmbedding: Tensor  // [1, patches (+ prefix unless noEmbedClass), D]
  let blocks: ModuleList<ViTBlock>
  let norm: LayerNorm

  public init(_ c: ViTConfig, generator: Generator? = nil) throws {
    try c.validate()
    config = c
    patchEmbed = try Conv2d(3, c.embedDim, kernel: (c.patchSize, c.patchSize), stride: (c.patchSize, c.patchSize), generator: generator)
    func small(_ shape: [Int]) throws -> Tensor {
      let t = try Tensor.zeros(shape)
      try t.normalInPlace(std: 0.02, generator: generator)
      return try t.requiringGrad()
    }
    classToken = c.classToken ? try small([1, 1, c.embedDim]) : nil
    registerTokens = c.registerTokens > 0 ? try small([1, c.registerTokens, c.embedDim]) : nil
    positionEmbedding = try small([1, c.patches + (c.noEmbedClass ? 0 : c.prefixTokens), c.embedDim])
    blocks = ModuleList(try (0..<c.depth).map { _ in try ViTBlock(c, generator: generator) })
    norm = try LayerNorm(c.embedDim, eps: 1e-6)
  }

  public var ownParameters: [(name: String, tensor: Tensor)] {
    var list: [(name: String, tensor: Tensor)] = []
    if let classToken { list.append(("cls_token", classToken)) }
    if let registerTokens { list.append(("reg_token", registerTokens)) }
    list.append(("pos_embed", positionEmbedding))
    return list
  }

  public var children: [(name: String, module: any Module)] {
    [("patch_embed.proj", patchEmbed), ("blocks", blocks), ("norm", norm)]
  }

  /// Tokens after patch embedding and position embedding: [B, prefix + patches, D] for
  /// normalised images [B, 3, H, W].
  func embed(_ images: Tensor) throws -> Tensor {
    let b = images.size(0)
    let d = config.embedDim
    var x = try patchEmbed(images).flatten(from: 2).transpose(1, 2)  // [B, patches, D]
    var prefix: [Tensor] = []
    if let classToken { prefix.append(try classToken.expand([b, 1, d])) }
    if let registerTokens { prefix.append(try registerTokens.expand([b, config.registerTokens, d])) }
    if config.noEmbedClass {
      x = try x + positionEmbedding
      if !prefix.isEmpty { x = try Tensor.cat(prefix + [x], dim: 1) }
    } else {
      if !prefix.isEmpty { x = try Tensor.cat(prefix + [x], dim: 1) }
      x = try x + positionEmbedding
    }
    return x
  }

  /// All blocks and the final norm: [B, prefix + patches, D] (timm's forward_features).
  public func forwardFeatures(_ images: Tensor) throws -> Tensor {
    var x = try embed(images)
    for block in blocks.modules { x = try block(x) }
    return try norm(x)
  }

  /// Patch tokens after the second-to-last block, without the final norm: the features OpenVLA
  /// takes from each vision encoder (timm's get_intermediate_layers(n={depth - 2})). [B, patches, D]
  /// With `film`, each of those blocks' output is modulated by its (scale, shift) [B, 1, D]:
  /// x (1 + scale) + shift (OpenVLA-OFT+'s FiLM).
  public func patchFeatures(_ images: Tensor, film: [(scale: Tensor, shift: Tensor)]? = nil) throws -> Tensor {
    var x = try embed(images)
    for (i, block) in blocks.modules.dropLast().enumerated() {
      x = try block(x)
      if let film { x = try x * (film[i].scale + 1.0) + film[i].shift }
    }
    return try x.slice(dim: 1, start: config.prefixTokens)
  }

  /// uint8 images [B, H, W, 3] -> normalised float [B, 3, H, W] for this encoder.
  public func normalize(_ images: Tensor) throws -> Tensor {
    var x = try images.to(dtype: .float32).permute([0, 3, 1, 2]) / 255.0  // [B, 3, H, W]
    if config.whiteBalance == true {
      x = try x / (x.mean(dims: [2, 3], keepDims: true) * 2.0 + 1e-3)  // each channel averages 0.5
    }
    let mean = try Tensor(config.imageMean.map(Float.init), shape: [1, 3, 1, 1]).to(device: x.device)
    let std = try Tensor(config.imageStd.map(Float.init), shape: [1, 3, 1, 1]).to(device: x.device)
    return try (x - mean) / std
  }
}
