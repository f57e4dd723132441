import Foundation
import Torch

/// What a policy produced for a batch (K = numActionChunks, 7 action dimensions).
public struct PolicyOutput {
  /// Normalised actions [B, K, 7] in [-1, 1] (bin centres).
  public let actions: Tensor
  /// Vocabulary ids [B, K, 7] int64.
  public let tokens: Tensor
  /// Token-level log-probabilities [B, K, 7] under the sampling distribution.
  public let logProbs: Tensor
  /// Token-level entropies [B, K, 7].
  public let entropies: Tensor
  /// Values [B, valueOutputs], nil without a value head.
  public let values: Tensor?

  /// Sum over the 7 dimensions: [B, K].
  public func actionLogProbs() throws -> Tensor { try logProbs.sum(dims: [-1]) }
  /// Sum over the chunk: [B].
  public func chunkLogProbs() throws -> Tensor { try logProbs.sum(dims: [1, 2]) }
  public func actionEntropies() throws -> Tensor { try entropies.sum(dims: [-1]) }
  public func chunkEntropies() throws -> Tensor { try entropies.sum(dims: [1, 2]) }
}

/// A vision-language-action policy with OpenVLA's modules and Hugging Face parameter names:
/// vision_backbone.{featurizer, fused_featurizer}.*, projector.fc*, language_model.{model, lm_head}.*,
/// and value_head.* when it has a critic.
public final class VLAPolicy: Module {
  /// Its configuration (valueOutputs follows `attachValueHead`, so checkpoints describe the critic).
  public private(set) var config: VLAConfig
  public let tokenizer: SentencePieceTokenizer
  public let actionTokenizer: ActionTokenizer
  let visionBackbone: VisionBackbone
  let projector: Projector
  let proprioProjector: ProprioProjector?
  public let languageModel: LlamaForCausalLM
  public private(set) var valueHead: ValueHead?
  /// Token ids of each instruction's prompt, filled as instructions are seen (data-parallel
  /// training reads it from several threads: guarded by `promptLock`).
  private var promptCache: [String: [Int]] = [:]
  private let promptLock = NSLock()
  /// Runs the vision encoder and language model's matmuls in bfloat16 (autocast; weights and
  /// gradients stay float32), the action logits, log-probabilities and values in float32, as
  /// RLinf keeps log-probs in float32 (`actor.model.precision: bf16`). Off: float32 throughout.
  public var computeInBFloat16 = false
  /// Action value of each of the 256 restricted indices [256], built once (a buffer: it moves
  /// with the parameters).
  private let actionValues: Tensor

  public init(config: VLAConfig, tokenizer: SentencePieceTokenizer, generator: Generator? = nil) throws {
    try config.validate()
    guard tokenizer.vocabularySize <= config.llm.vocabSize - ActionTokenizer.bins || config.llm.vocabSize >= 32000 else {
      throw ModelError.invalidConfig("tokenizer has \(tokenizer.vocabularySize) pieces; text_config.vocab_size \(config.llm.vocabSize) leaves \(config.llm.vocabSize - ActionTokenizer.bins) below the action tokens")
    }
    self.config = config
    self.tokenizer = tokenizer
    actionTokenizer = ActionTokenizer(vocabularySize: config.llm.vocabSize)
    actionValues = try Tensor(ActionTokenizer.centresByIndex.map(Float.init), shape: [ActionTokenizer.bins])
    visionBackbone = try VisionBackbone(
      config.vision, pool: config.patchPool, languageDim: config.film ? config.llm.hiddenSize : 0, generator: generator)
    projector = try Projector(visionDim: config.visionDim, llmDim: config.llm.hiddenSize, fused: config.vision.count > 1, generator: generator)
    proprioProjector = config.proprioDim > 0 ? try ProprioProjector(inputs: config.proprioDim, llmDim: config.llm.hiddenSize, generator: generator) : nil
    languageModel = try LlamaForCausalLM(config.llm, generator: generator)
    valueHead = config.valueOutputs > 0 ? try ValueHead(hidden: config.llm.hiddenSize, outputs: config.valueOutputs, generator: generator) : nil
  }

  public var children: [(name: String, module: any Module)] {
    var list: [(name: String, module: any Module)] = [
      ("vision_backbone", visionBackbone), ("projector", projector), ("language_model", languageModel),
    ]
    if let proprioProjector { list.append(("proprio_projector", proprioProjector)) }
    if let valueHead { list.append(("value_head", valueHead)) }
    return list
  }

  public var ownBuffers: [Tensor] { [actionValues] }

  /// Where its parameters live; `move(to:)` changes it. Inputs may live anywhere (they are copied
  /// here); outputs live here.
  public var device: Device { languageModel.lmHead.weight.device }

  /// Attaches a fresh critic to a policy that has none (e.g. a checkpoint from supervised
  /// fine-tuning); `outputs` 1 = chunk-level, numActionChunks = action-level values.
  public func attachValueHead(outputs: Int, generator: Generator? = nil) throws -> ValueHead {
    guard [1, config.numActionChunks].contains(outputs) else {
      throw ModelError.invalidConfig("value head outputs must be 1 or \(config.numActionChunks), got \(outputs)")
    }
    let head = try ValueHead(hidden: config.llm.hiddenSize, outputs: outputs, generator: generator)
    try head.move(to: device)  // initialised on the CPU, used beside the rest
    valueHead = head
    config.valueOutputs = outputs
    return head
  }

  // MARK: rollout

  /// Decodes actions for uint8 images [B, H, W, 3], one instruction per row and, when the config
  /// has proprio_dim > 0, the state [B, proprio_dim].
  public func act(
    images: Tensor, instructions: [String], state: Tensor? = nil, sampling: SamplingSettings, generator: Generator? = nil
  ) throws -> PolicyOutput {
    try Autocast.withBFloat16(on: device, enabled: computeInBFloat16) {
      let prefix = try encodePrefix(images: images, instructions: instructions, state: state)
      switch config.head {
      case .openvla: return try decodeAutoregressive(prefix, sampling: sampling, generator: generator)
      case .oft: return try decodeParallel(prefix, tokens: nil, sampling: sampling, generator: generator)
      }
    }
  }

  /// Log-probs, entropies and values of given action tokens [B, K, 7] in one teacher-forced
  /// forward, with the sampling settings used at rollout (what PPO's ratio needs).
  public func evaluate(images: Tensor, instructions: [String], state: Tensor? = nil, tokens: Tensor, sampling: SamplingSettings) throws -> PolicyOutput {
    try Autocast.withBFloat16(on: device, enabled: computeInBFloat16) {
      let prefix = try encodePrefix(images: images, instructions: instructions, state: state)
      let tokens = try tokens.to(device: device)
      switch config.head {
      case .openvla: return try teacherForced(prefix, tokens: tokens, sampling: sampling)
      case .oft: return try decodeParallel(prefix, tokens: tokens, sampling: sampling, generator: nil)
      }
    }
  }

  /// The critic's values [B, outputs] of observations, from one forward over the prompt alone:
  /// the value position attends only to the prompt, so this equals the `values` of `act`.
  /// (Bootstrapping needs V of final observations, whose actions are never taken.)
  public func predictValues(images: Tensor, instructions: [String], state: Tensor? = nil) throws -> Tensor {
    guard valueHead != nil else { throw ModelError.input("this policy has no value head (attach one with attachValueHead)") }
    return try Autocast.withBFloat16(on: device, enabled: computeInBFloat16) {
      let prefix = try encodePrefix(images: images, instructions: instructions, state: state)
      let hidden = try languageModel.model(embeddings: prefix.embeddings, positions: prefix.positions, mask: prefix.causalMask())
      return try values(hidden, lastPrompt: prefix.length - 1)!
    }
  }

  func encodePrefix(images: Tensor, instructions: [String], state: Tensor?) throws -> PromptBatch {
    guard images.rank == 4, images.size(0) == instructions.count, images.size(1) == config.imageSize,
      images.size(2) == config.imageSize, images.size(3) == 3, images.dtype == .uint8
    else {
      throw ModelError.input("images must be uint8 [B, \(config.imageSize), \(config.imageSize), 3] with one instruction per row; got \(images.dtype) \(images.shape) and \(instructions.count) instructions")
    }
    let text = try promptIDs(instructions)
    let language = config.film ? try meanEmbedding(text) : nil  // [B, D]
    var patches = try projector(visionBackbone(images.to(device: device), language: language))  // [B, P, D]
    if let proprioProjector {
      guard let state, state.shape == [images.size(0), config.proprioDim] else {
        throw ModelError.input("this policy reads proprioceptive state: pass state [\(images.size(0)), \(config.proprioDim)] (got \(state.map { "\($0.shape)" } ?? "none"))")
      }
      patches = try Tensor.cat([patches, proprioProjector(state.to(dtype: .float32, device: device)).unsqueeze(1)], dim: 1)  // [B, P + 1, D]
    }
    return try PromptBatch(textTokens: text, patches: patches, embed: languageModel.model.embedTokens)
  }

  /// BOS + prompt token ids of each instruction.
  private func promptIDs(_ instructions: [String]) throws -> [[Int]] {
    try promptLock.withLock {
      try instructions.map { instruction -> [Int] in
        if let ids = promptCache[instruction] { return ids }
        let ids = [tokenizer.bosID] + (try tokenizer.encode(PromptBatch.prompt(instruction)))
        promptCache[instruction] = ids
        return ids
      }
    }
  }

  /// FiLM's input: the mean input embedding of each row's prompt tokens, [B, D].
  private func meanEmbedding(_ text: [[Int]]) throws -> Tensor {
    let longest = text.map(\.count).max() ?? 0
    let ids = text.flatMap { $0.map(Int64.init) + Array(repeating: Int64($0[0]), count: longest - $0.count) }
    let real = text.flatMap { Array(repeating: Float(1), count: $0.count) + Array(repeating: Float(0), count: longest - $0.count) }
    let mask = try Tensor(real, shape: [text.count, longest, 1]).to(device: device)
    let embedded = try languageModel.model.embedTokens(Tensor(ids, shape: [text.count, longest]).to(device: device))  // [B, L, D]
    return try (embedded * mask).sum(dims: [1]) / mask.sum(dims: [1])
  }

  /// Value head on the final hidden state of the last prompt position: [B, outputs], float32.
  private func values(_ hidden: Tensor, lastPrompt: Int) throws -> Tensor? {
    try valueHead.map { head in try Autocast.withFloat32(on: device) { try head(hidden.select(dim: 1, index: lastPrompt).to(dtype: .float32)) } }
  }

  /// Action logits [..., V] of hidden states [..., D], in float32 (the log-probs PPO's ratio
  /// compares must not carry bfloat16 rounding).
  private func logits(_ hidden: Tensor) throws -> Tensor {
    try Autocast.withFloat32(on: device) { try languageModel.lmHead(hidden.to(dtype: .float32)) }
  }

  /// Tokens, actions, log-probs and entropies from sampled indices and their distribution.
  private func output(indices: Tensor, distribution: ActionDistribution, values: Tensor?, k: Int) throws -> PolicyOutput {
    let b = indices.size(0)
    let tokens = try (indices + actionTokenizer.firstActionID).reshape([b, k, 7])
    let actions = try actionValues.indexSelect(dim: 0, index: indices.flatten()).reshape([b, k, 7])
    return PolicyOutput(
      actions: actions, tokens: tokens, logProbs: try distribution.logProb(of: indices).reshape([b, k, 7]),
      entropies: try distribution.entropy().reshape([b, k, 7]), values: values)
  }

  /// OpenVLA: 7 tokens one at a time, each step attending to the KV cache.
  private func decodeAutoregressive(_ prefix: PromptBatch, sampling: SamplingSettings, generator: Generator?) throws -> PolicyOutput {
    let lm = languageModel.model
    let cache = KVCache(layers: config.llm.numHiddenLayers)
    let hidden = try lm(embeddings: prefix.embeddings, positions: prefix.positions, mask: prefix.causalMask(), cache: cache)
    let last = prefix.length - 1
    let values = try values(hidden, lastPrompt: last)
    var logits = try self.logits(hidden.select(dim: 1, index: last))  // [B, V]
    var validKeys = prefix.valid
    var position = try prefix.positions.select(dim: 1, index: last).unsqueeze(1)  // [B, 1]
    var allLogProbs: [Tensor] = [], indices: [Tensor] = []
    for step in 0..<VLAConfig.actionDimensions {
      let distribution = try ActionDistribution(logits: logits, settings: sampling)
      let index = try distribution.sample(settings: sampling, generator: generator)  // [B]
      allLogProbs.append(distribution.logProbs)
      indices.append(index)
      if step == VLAConfig.actionDimensions - 1 { break }
      let token = try index + actionTokenizer.firstActionID
      validKeys = try Tensor.cat([validKeys, Tensor.ones([validKeys.size(0), 1], dtype: .bool, device: validKeys.device)], dim: 1)
      position = try position + 1
      let step = try lm(
        embeddings: lm.embedTokens(token.unsqueeze(1)), positions: position,
        mask: Attention.paddingMask(valid: validKeys), cache: cache)  // [B, 1, D]
      logits = try self.logits(step.squeeze(1))
    }
    let distribution = ActionDistribution(logProbs: try Tensor.stack(allLogProbs, dim: 1))  // [B, 7, 256]
    return try output(indices: Tensor.stack(indices, dim: 1), distribution: distribution, values: values, k: 1)
  }

  /// OpenVLA, teacher-forced: prefix + the first 6 given tokens in one causal forward; the
  /// distributions at positions T-1 ... T+5 score the 7 tokens.
  private func teacherForced(_ prefix: PromptBatch, tokens: Tensor, sampling: SamplingSettings) throws -> PolicyOutput {
    let b = prefix.embeddings.size(0)
    let flat = try tokens.reshape([b, VLAConfig.actionDimensions])
    let lm = languageModel.model
    let inputs = try lm.embedTokens(flat.slice(dim: 1, start: 0, end: VLAConfig.actionDimensions - 1))  // [B, 6, D]
    let embeddings = try Tensor.cat([prefix.embeddings, inputs], dim: 1)
    let on = prefix.valid.device
    let valid = try Tensor.cat([prefix.valid, Tensor.ones([b, VLAConfig.actionDimensions - 1], dtype: .bool, device: on)], dim: 1)
    let last = try prefix.positions.slice(dim: 1, start: prefix.length - 1)  // [B, 1]
    let steps = try Tensor.arange(1, Double(VLAConfig.actionDimensions), device: on).unsqueeze(0)
    let positions = try Tensor.cat([prefix.positions, last + steps], dim: 1)
    let hidden = try lm(embeddings: embeddings, positions: positions, mask: PromptBatch.causalMask(valid: valid))
    let values = try values(hidden, lastPrompt: prefix.length - 1)
    let logits = try self.logits(hidden.slice(dim: 1, start: prefix.length - 1))  // [B, 7, V]
    let distribution = try ActionDistribution(logits: logits, settings: sampling)
    return try output(indices: flat - actionTokenizer.firstActionID, distribution: distribution, values: values, k: 1)
  }

  /// OFT: K x 7 action positions (zero embeddings) after the prefix, decoded in one forward. The
  /// action block attends to the whole prefix and, bidirectionally, to itself. With `tokens`, the
  /// given tokens are scored instead of sampled.
  private func decodeParallel(_ prefix: PromptBatch, tokens: Tensor?, sampling: SamplingSettings, generator: Generator?) throws -> PolicyOutput {
    let b = prefix.embeddings.size(0)
    let n = config.actionTokens
    let t = prefix.length + n
    let lm = languageModel.model
    let on = prefix.embeddings.device
    let slots = try Tensor.zeros([b, n, config.llm.hiddenSize], dtype: prefix.embeddings.dtype, device: on)
    let embeddings = try Tensor.cat([prefix.embeddings, slots], dim: 1)
    let last = try prefix.positions.slice(dim: 1, start: prefix.length - 1)
    let positions = try Tensor.cat([prefix.positions, last + Tensor.arange(1, Double(n + 1), device: on).unsqueeze(0)], dim: 1)
    let valid = try Tensor.cat([prefix.valid, Tensor.ones([b, n], dtype: .bool, device: on)], dim: 1)
    // Causal everywhere, plus: action rows see every action column.
    var allowed = try Attention.causalMask(queries: t, keys: t, device: on)
    let actionRows = try Tensor.arange(0, Double(t), device: on).ge(Double(prefix.length))  // [T]
    allowed = try allowed.logicalOr(actionRows.unsqueeze(1).logicalAnd(actionRows.unsqueeze(0)))
    let mask = try allowed.unsqueeze(0).unsqueeze(0).logicalAnd(Attention.paddingMask(valid: valid))
    let hidden = try lm(embeddings: embeddings, positions: positions, mask: mask)
    let values = try values(hidden, lastPrompt: prefix.length - 1)
    let logits = try self.logits(hidden.slice(dim: 1, start: prefix.length))  // [B, K*7, V]
    let distribution = try ActionDistribution(logits: logits, settings: sampling)
    let indices = try tokens.map { try $0.reshape([b, n]) - actionTokenizer.firstActionID }
      ?? distribution.sample(settings: sampling, generator: generator)
    return try output(indices: indices, distribution: distribution, values: values, k: config.numActionChunks)
  }
}

extension ActionDistribution {
  init(logProbs: Tensor) { self.logProbs = logProbs }
}

extension ActionTokenizer {
  /// Action value of restricted index i (token firstActionID + i): index 255 is bin 1.
  static let centresByIndex: [Double] = (0..<bins).map { i in centres[Swift.min(Swift.max(bins - i - 1, 0), bins - 2)] }
}
