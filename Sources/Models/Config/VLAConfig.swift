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
  /// Average-pools the image patch grid by this factor per side before the projector (2: a
  /// 8x8 grid becomes 4x4), so the language model reads a quarter of the image tokens; 1 = every
  /// patch, as in OpenVLA. The vision encoder still sees every patch.
  public var patchPool: Int
  /// FiLM (OpenVLA-OFT+'s `use_film`): the instruction's mean token embedding scales and shifts
  /// the vision encoder's features block by block, so what the encoder extracts depends on what
  /// was asked (which object to look for), not only the language model reading them afterwards.
  public var film: Bool
  public static let actionDimensions = 7

  enum CodingKeys: String, CodingKey {
    case vision, llm = "text_config", head = "action_head", numActionChunks = "num_action_chunks"
    case valueOutputs = "value_outputs", actionStatistics = "norm_stats", proprioDim = "proprio_dim"
    case patchPool = "patch_pool", film = "use_film"
  }

  public init(
    vision: [ViTConfig], llm: LlamaConfig, head: ActionHead, numActionChunks: Int, valueOutputs: Int,
    actionStatistics: ActionStatistics = .identity, proprioDim: Int = 0, patchPool: Int = 1, film: Bool = false
  ) {
    self.vision = vision
    self.llm = llm
    self.head = head
    self.numActionChunks = numActionChunks
    self.valueOutputs = valueOutputs
    self.actionStatistics = actionStatistics
    self.proprioDim = proprioDim
    self.patchPool = patchPool
    self.film = film
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
    patchPool = try c.decodeIfPresent(Int.self, forKey: .patchPool) ?? 1
    film = try c.decodeIfPresent(Bool.self, forKey: .film) ?? false
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(vision, forKey: .vision)
    try c.encode(llm, forKey: .llm)
    try c.encode(head, forKey: .head)
    try c.encode(numActionChunks, forKey: .numActionChunks)
    try c.encode(valueOutputs, forKey: .valueOutputs)
    try c.encode(actionStatistics, forKey: .actionStatistics)
    try c.encode(proprioDim, forKey: .proprioDim)
    // Absent when off: OpenVLA's config.json layout.
    if patchPool != 1 { try c.encode(patchPool, forKey: .patchPool) }
    if film { try c.encode(film, forKey: .film) }
  }

  public var visionDim: Int { vision.reduce(0) { $0 + $1.embedDim } }
  /// Image tokens the language model reads: the encoder's patches after `patchPool`.
  public var patches: Int { vision[0].patches / (patchPool * patchPool) }
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
    let grid = vision[0].imageSize / vision[0].patchSize
    guard patchPool >= 1, grid % patchPool == 0 else {
      throw ModelError.invalidConfig("patch_pool \(patchPool) must be at least 1 and divide the \(grid)x\(grid) patch grid")
    }
    guard proprioDim >= 0 else { throw ModelError.invalidConfig("proprio_dim must not be negative (got \(proprioDim))") }
    guard [0, 1, numActionChunks].contains(valueOutputs) else {
      throw ModelError.invalidConfig("value_outputs must be 0, 1 (chunk level) or num_action_chunks \(numActionChunks) (action level), got \(valueOutputs)")
    }
  }

  /// The tiny configuration that trains on a CPU in minutes: 64x64 images, one small ViT, a
  /// 4-layer Llama; `textVocabulary` is the tokenizer's size (action tokens come after it).
  public static func tiny(
    head: ActionHead, numActionChunks: Int = 1, textVocabulary: Int, proprioDim: Int = 0, whiteBalance: Bool = false,
    patchPool: Int = 1, film: Bool = false
  ) -> VLAConfig {
    VLAConfig(
      vision: [ViTConfig(
        imageSize: 64, patchSize: 8, embedDim: 96, depth: 4, numHeads: 4, mlpRatio: 2, classToken: true,
        registerTokens: 0, noEmbedClass: false, layerScale: false, geluTanh: false,
        imageMean: [0.5, 0.5, 0.5], imageStd: [0.25, 0.25, 0.25], whiteBalance: whiteBalance ? true : nil)],
      llm: LlamaConfig(
        vocabSize: textVocabulary + ActionTokenizer.bins, hiddenSize: 128, intermediateSize: 256, numHiddenLayers: 4,
        numAttentionHeads: 4, numKeyValueHeads: 2, rmsNormEps: 1e-6, ropeTheta: 10000, maxPositionEmbeddings: 512),
      head: head, numActionChunks: head == .oft ? numActionChunks : 1, valueOutputs: 1, proprioDim: proprioDim,
      patchPool: patchPool, film: film)
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
