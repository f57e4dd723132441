import Torch

/// The sampling distribution over the 256 action tokens: logits of the action ids only, divided by
/// the temperature, restricted to the top k. Rollout samples from it and records log-probs and
/// entropies; training rebuilds it from a teacher-forced forward with the same settings, so the
/// PPO ratio compares like with like.
public struct SamplingSettings: Sendable, Equatable {
  public var temperature: Double
  /// 0 = no top-k restriction.
  public var topK: Int
  /// Greedy decoding (argmax) for evaluation; log-probs still come from the distribution.
  public var greedy: Bool

  public init(temperature: Double = 1.0, topK: Int = 0, greedy: Bool = false) {
    self.temperature = temperature
    self.topK = topK
    self.greedy = greedy
  }
}

struct ActionDistribution {
  /// [..., 256] log-probabilities over the action tokens.
  let logProbs: Tensor

  /// `logits` [..., V] over the whole vocabulary.
  init(logits: Tensor, settings: SamplingSettings) throws {
    let vocabulary = logits.size(-1)
    var restricted = try logits.slice(dim: -1, start: vocabulary - ActionTokenizer.bins).to(dtype: .float32)
    restricted = try restricted / Swift.max(settings.temperature, 1e-6)
    if settings.topK > 0 && settings.topK < ActionTokenizer.bins {
      let kth = try restricted.topK(settings.topK, dim: -1).values.slice(dim: -1, start: settings.topK - 1)  // [..., 1]
      // A large negative number rather than -inf: excluded tokens get probability 0 and entropy
      // terms 0 * (-1e9) = 0 instead of NaN.
      restricted = try restricted.maskedFill(restricted.lt(kth), value: -1e9)
    }
    logProbs = try restricted.logSoftmax(dim: -1)
  }

  /// Entropy per position [...].
  func entropy() throws -> Tensor { try -(logProbs.exp() * logProbs).sum(dims: [-1]) }

  /// Log-probability of action indices [...] (0 ... 255).
  func logProb(of indices: Tensor) throws -> Tensor {
    try logProbs.gather(dim: -1, index: indices.unsqueeze(-1)).squeeze(-1)
  }

  /// Samples (or takes the argmax of) one index per position: int64 [...] on the distribution's
  /// device. Sampling itself runs on the CPU with the caller's seeded generator, so a seed draws
  /// the same actions whichever device the policy runs on (the copy is B x 256 floats).
  func sample(settings: SamplingSettings, generator: Generator?) throws -> Tensor {
    if settings.greedy { return try logProbs.argmax(dim: -1) }
    let shape = Array(logProbs.shape.dropLast())
    let flat = try logProbs.exp().reshape([-1, ActionTokenizer.bins]).to(device: .cpu)
    return try flat.multinomial(count: 1, replacement: true, generator: generator).reshape(shape).to(device: logProbs.device)
  }
}
