import Models
import Torch

/// Supervised fine-tuning on demonstrations: cross-entropy of the demonstrated action tokens
/// under the policy's action distribution (temperature 1, no top-k), one teacher-forced forward.
public enum SupervisedFineTuning {
  public struct StepMetrics: Sendable {
    /// Mean negative log-likelihood per action token.
    public let loss: Double
    /// Global gradient norm before clipping.
    public let gradNorm: Double
  }

  /// -mean log p(target token) for uint8 images [B, H, W, 3], instructions [B] and target
  /// tokens [B, K, 7] (vocabulary ids).
  public static func loss(policy: VLAPolicy, images: Tensor, instructions: [String], state: Tensor? = nil, targetTokens: Tensor) throws -> Tensor {
    let scored = try policy.evaluate(images: images, instructions: instructions, state: state, tokens: targetTokens, sampling: SamplingSettings(temperature: 1))
    return try -scored.logProbs.mean()
  }

  /// One optimiser step on a batch; gradients clipped to `maxGradNorm`. A non-finite loss or
  /// gradient skips the update (the weights stay as they were).
  public static func step(
    policy: VLAPolicy, optimizer: AdamW, images: Tensor, instructions: [String], state: Tensor? = nil, targetTokens: Tensor,
    maxGradNorm: Double
  ) throws -> StepMetrics {
    optimizer.zeroGrad()
    let value = try loss(policy: policy, images: images, instructions: instructions, state: state, targetTokens: targetTokens)
    try value.backward()
    let norm = try clipGradientNorm(optimizer.groups.flatMap { $0.parameters.map(\.tensor) }, maxNorm: maxGradNorm)
    let lossValue = try value.item()
    if lossValue.isFinite && norm.isFinite { try optimizer.step() }
    return StepMetrics(loss: lossValue, gradNorm: norm)
  }
}
