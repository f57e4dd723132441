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
  /// gradient skips the update (the weights stay as they were). The batch is split over
  /// `work`'s workers (data parallel: each differentiates its share, the gradients are summed).
  public static func step(
    policy: VLAPolicy, optimizer: AdamW, images: Tensor, instructions: [String], state: Tensor? = nil, targetTokens: Tensor,
    maxGradNorm: Double, work: ParallelWork = SerialWork()
  ) throws -> StepMetrics {
    optimizer.zeroGrad()
    let parameters = optimizer.groups.flatMap { $0.parameters.map(\.tensor) }
    let b = images.size(0), shards = min(work.width, b)
    let (losses, finite) = try DataParallel.gradients(of: parameters, shards: shards, work: work) { s in
      let (start, end) = (s * b / shards, (s + 1) * b / shards)
      func rows(_ t: Tensor) throws -> Tensor { try t.slice(dim: 0, start: start, end: end) }
      let shardLoss = try loss(
        policy: policy, images: rows(images), instructions: Array(instructions[start..<end]), state: state.map(rows),
        targetTokens: rows(targetTokens))
      let weight = Double(end - start) / Double(b)  // the batch mean is the weighted sum of shard means
      return (try shardLoss * weight, try shardLoss.item() * weight)
    }
    let lossValue = finite ? losses.reduce(0, +) : .nan
    let norm = finite ? try clipGradientNorm(parameters, maxNorm: maxGradNorm) : .nan
    if finite && norm.isFinite { try optimizer.step() }
    return StepMetrics(loss: lossValue, gradNorm: norm)
  }
}
