/// A Llama-style decoder's shape, with Hugging Face's config.json key names.
public struct LlamaConfig: Codable, Sendable, Equatable {
  public var vocabSize: Int
  public var hiddenSize: Int
  public var intermediateSize: Int
  public var numHiddenLayers: Int
  public var numAttentionHeads: Int
  public var numKeyValueHeads: Int
  public var rmsNormEps: Double
  public var ropeTheta: Double
  public var maxPositionEmbeddings: Int

  enum CodingKeys: String, CodingKey {
    case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
    case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
    case numKeyValueHeads = "num_key_value_heads", rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta"
    case maxPositionEmbeddings = "max_position_embeddings"
  }

  public init(
    vocabSize: Int, hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
    numKeyValueHeads: Int, rmsNormEps: Double = 1e-6, ropeTheta: Double = 10000, maxPositionEmbeddings: Int = 2048
  ) {
    self.vocabSize = vocabSize
    self.hiddenSize = hiddenSize
    self.intermediateSize = intermediateSize
    self.numHiddenLayers = numHiddenLayers
    self.numAttentionHeads = numAttentionHeads
    self.numKeyValueHeads = numKeyValueHeads
    self.rmsNormEps = rmsNormEps
    self.ropeTheta = ropeTheta
    self.maxPositionEmbeddings = maxPositionEmbeddings
  }

  public var headDim: Int { hiddenSize / numAttentionHeads }

  /// Llama-2 7B, the language model of OpenVLA (its vocabulary padded to 32064).
  public static let llama2_7b = LlamaConfig(
    vocabSize: 32064, hiddenSize: 4096, intermediateSize: 11008, numHiddenLayers: 32, numAttentionHeads: 32,
    numKeyValueHeads: 32, rmsNormEps: 1e-6, ropeTheta: 10000, maxPositionEmbeddings: 4096)

  func validate() throws {
    guard hiddenSize % numAttentionHeads == 0, numAttentionHeads % numKeyValueHeads == 0, headDim % 2 == 0 else {
      throw ModelError.invalidConfig("llama: hidden_size \(hiddenSize) must split into \(numAttentionHeads) heads of even size, and heads into \(numKeyValueHeads) kv heads")
    }
  }
}

/// A timm VisionTransformer's shape (DINOv2- and SigLIP-style variants).
public struct ViTConfig: Codable, Sendable, Equatable {
  public var imageSize: Int
  public var patchSize: Int
  public var embedDim: Int
  public var depth: Int
  public var numHeads: Int
  public var mlpRatio: Double
  /// A class token before the patches (DINOv2: yes, SigLIP: no).
  public var classToken: Bool
  /// Register tokens after the class token (DINOv2 "reg4": 4).
  public var registerTokens: Int
  /// Position embeddings only for patches, added before the prefix tokens are prepended.
  public var noEmbedClass: Bool
  /// LayerScale (DINOv2) on both residual branches.
  public var layerScale: Bool
  /// GELU with the tanh approximation in the MLP (SigLIP) instead of the exact one.
  public var geluTanh: Bool
  /// Per-channel normalisation of [0, 1] pixels (ImageNet for DINOv2, 0.5 for SigLIP).
  public var imageMean: [Double]
  public var imageStd: [Double]
  /// Grey-world white balance before that normalisation: each channel divided by its mean over
  /// the image, so every image averages mid-grey. A table's colour or the light's intensity and
  /// tint then no longer shift the input, which a small encoder trained from scratch on one scene
  /// cannot learn to ignore (a pretrained one has seen enough scenes). Not part of OpenVLA; nil
  /// (off) in its checkpoints.
  public var whiteBalance: Bool?

  enum CodingKeys: String, CodingKey {
    case imageSize = "image_size", patchSize = "patch_size", embedDim = "embed_dim", depth, numHeads = "num_heads"
    case mlpRatio = "mlp_ratio", classToken = "class_token", registerTokens = "reg_tokens"
    case noEmbedClass = "no_embed_class", layerScale = "layer_scale", geluTanh = "gelu_tanh"
    case imageMean = "image_mean", imageStd = "image_std", whiteBalance = "white_balance"
  }

  public var patches: Int { (imageSize / patchSize) * (imageSize / patchSize) }
  public var prefixTokens: Int { (classToken ? 1 : 0) + registerTokens }

  public static func dinov2(imageSize: Int, patchSize: Int, embedDim: Int, depth: Int, numHeads: Int, registers: Int = 4) -> ViTConfig {
    ViTConfig(
      imageSize: imageSize, patchSize: patchSize, embedDim: embedDim, depth: depth, numHeads: numHeads, mlpRatio: 4,
      classToken: true, registerTokens: registers, noEmbedClass: true, layerScale: true, geluTanh: false,
      imageMean: [0.485, 0.456, 0.406], imageStd: [0.229, 0.224, 0.225])
  }

  public static func siglip(imageSize: Int, patchSize: Int, embedDim: Int, depth: Int, numHeads: Int, mlpRatio: Double = 4) -> ViTConfig {
    ViTConfig(
      imageSize: imageSize, patchSize: patchSize, embedDim: embedDim, depth: depth, numHeads: numHeads, mlpRatio: mlpRatio,
      classToken: false, registerTokens: 0, noEmbedClass: true, layerScale: false, geluTanh: true,
      imageMean: [0.5, 0.5, 0.5], imageStd: [0.5, 0.5, 0.5])
  }

  func validate() throws {
    guard imageSize % patchSize == 0, embedDim % numHeads == 0, depth >= 2 else {
      throw ModelError.invalidConfig("vit: image_size \(imageSize) must be a multiple of patch_size \(patchSize), embed_dim \(embedDim) of num_heads \(numHeads), depth at least 2")
    }
  }
}

/// Errors of the models module, naming what is wrong.
public enum ModelError: Error, CustomStringConvertible, Sendable {
  case invalidConfig(String)
  case checkpoint(String)
  case input(String)

  public var description: String {
    switch self {
    case .invalidConfig(let why): "invalid model config: \(why)"
    case .checkpoint(let why): "checkpoint: \(why)"
    case .input(let why): "bad model input: \(why)"
    }
  }
}
