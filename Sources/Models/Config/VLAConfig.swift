/// How a policy decodes actions.
public enum ActionHead: String, Codable, Sendable {
  /// OpenVLA: 7 action tokens decoded one at a time with the KV cache.
  case openvla
  /// OpenVLA-OFT (RLinf's discrete variant): numActionChunks x 7 action positions decoded in one
  /// forward, with bidirectional attention among them.
  case oft
}

/// A VLA policy's full description, saved as config.json next to its weights.
public struct VLAConfig: Codable, Sendable, Equatable {
  /// One encoder, or two (OpenVLA's DINOv2 + SigLIP "fused" backbone: features concatenated).
  public var vision: [ViTConfig]
  public var llm: LlamaConfig
  public var head: ActionHead
  /// Actions per chunk (OFT's K; 1 for OpenVLA).
  public var numActionChunks: Int
  /// Value head outputs: 1 (chunk-level value) or numActionChunks (action-level); 0 = none.
  public var valueOutputs: Int
  public var actionStatistics: ActionStatistics
  /// Size of the proprioceptive state fed as one extra token after the image patches
  /// (OpenVLA-OFT's proprio projector); 0 = images and text only, as in OpenVLA.
  public var proprioDim: Int
  public static let actionDimensions = 7

  enum CodingKeys: String, CodingKey {
    case vision, llm = "text_config", head = "action_head", numActionChunks = "num_action_chunks"
    case valueOutputs = "value_outputs", actionStatistics = "norm_stats", proprioDim = "proprio_dim"
  }

  public init(
    vision: [ViTConfig], llm: LlamaConfig, head: ActionHead, numActionChunks: Int, valueOutputs: Int,
    actionStatistics: ActionStatistics = .identity, proprioDim: Int = 0
  ) {
    self.vision = vision
    self.llm = llm
    self.head = head
    self.numActionChunks = numActionChunks
    self.valueOutputs = valueOutputs
    self.actionStatistics = actionStatistics
    self.proprioDim = proprioDim
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    vision = try c.decode([ViTConfig].self, forKey: .vision)
    llm = try c.decode(LlamaConfig.self, forKey: .llm)
    head = try c.decode(ActionHead.self, forKey: .head)
    numActionChunks = try c.decode(Int.self, forKey: .numActionChunks)
    valueOutputs = try c.decodeIfPresent(Int.self, forKey: .valueOutputs) ?? 0
    actionStatistics = try c.decodeIfPresent(ActionStatistics.self, forKey: .actionStatistics) ?? .identity
    proprioDim = try c.decodeIfPresent(Int.self, forKey: .proprioDim) ?? 0
  }

  public var visionDim: Int { vision.reduce(0) { $0 + $1.embedDim } }
  public var patches: Int { vision[0].patches }
  public var imageSize: Int { vision[0].imageSize }
  /// Action positions decoded per step.
  public var actionTokens: Int { numActionChunks * Self.actionDimensions }

  public func validate() throws {
    guard vision.count == 1 || vision.count == 2 else {
      throw ModelError.invalidConfig("vision must list one encoder or two (fused), not \(vision.count)")
    }
    for v in vision { try v.validate() }
    guard Set(vision.map(\.patches)).count == 1, Set(vision.map(\.imageSize)).count == 1 else {
      throw ModelError.invalidConfig("fused vision encoders must see the same image size and patch grid")
    }
    try llm.validate()
    guard llm.vocabSize > ActionTokenizer.bins else {
      throw ModelError.invalidConfig("text_config.vocab_size \(llm.vocabSize) must exceed the \(ActionTokenizer.bins) action tokens")
    }
    guard numActionChunks >= 1, head == .oft || numActionChunks == 1 else {
      throw ModelError.invalidConfig("num_action_chunks must be 1 for the openvla head and at least 1 for oft (got \(numActionChunks))")
    }
    guard proprioDim >= 0 else { throw ModelError.invalidConfig("proprio_dim must not be negative (got \(proprioDim))") }
    guard [0, 1, numActionChunks].contains(valueOutputs) else {
      throw ModelError.invalidConfig("value_outputs must be 0, 1 (chunk level) or num_action_chunks \(numActionChunks) (action level), got \(valueOutputs)")
    }
  }

  /// The tiny configuration that trains on a CPU in minutes: 64x64 images, one small ViT, a
  /// 4-layer Llama; `textVocabulary` is the tokenizer's size (action tokens come after it).
  public static func tiny(
    head: ActionHead, numActionChunks: Int = 1, textVocabulary: Int, proprioDim: Int = 0, whiteBalance: Bool = false
  ) -> VLAConfig {
    VLAConfig(
      vision: [ViTConfig(
        imageSize: 64, patchSize: 8, embedDim: 96, depth: 4, numHeads: 4, mlpRatio: 2, classToken: true,
        registerTokens: 0, noEmbedClass: false, layerScale: false, geluTanh: false,
        imageMean: [0.5, 0.5, 0.5], imageStd: [0.25, 0.25, 0.25], whiteBalance: whiteBalance ? true : nil)],
      llm: LlamaConfig(
        vocabSize: textVocabulary + ActionTokenizer.bins, hiddenSize: 128, intermediateSize: 256, numHiddenLayers: 4,
        numAttentionHeads: 4, numKeyValueHeads: 2, rmsNormEps: 1e-6, ropeTheta: 10000, maxPositionEmbeddings: 512),
      head: head, numActionChunks: head == .oft ? numActionChunks : 1, valueOutputs: 1, proprioDim: proprioDim)
  }

  /// OpenVLA 7B's published shape: DINOv2 ViT-L/14 (4 registers) + SigLIP So400m/14 at 224 px,
  /// fused-gelu-mlp projector, Llama-2 7B.
  public static let openvla7b = VLAConfig(
    vision: [
      .dinov2(imageSize: 224, patchSize: 14, embedDim: 1024, depth: 24, numHeads: 16, registers: 4),
      .siglip(imageSize: 224, patchSize: 14, embedDim: 1152, depth: 27, numHeads: 16, mlpRatio: 4304.0 / 1152.0),
    ],
    llm: .llama2_7b, head: .openvla, numActionChunks: 1, valueOutputs: 0)
}
