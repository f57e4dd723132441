import Torch

/// The PPO policy and value losses (shared/reference/rlinf-vla.md, "Losses").
public enum Losses {
  /// Per-element PPO-clip loss with asymmetric clipping and dual clip, plus the statistics RLinf
  /// logs. All tensors of one shape (token, action or chunk granularity, chosen by the caller).
  ///   r = exp(logp - old_logp)
  ///   L = max(-r A, -clip(r, 1 - low, 1 + high) A), and for A < 0: min(L, -c A)
  public struct PolicyLoss {
    /// Per-element loss (average it with `maskedMean` or trajectory-length normalisation).
    public let loss: Tensor
    public let ratio: Tensor
    /// clip(r, 1 - low, 1 + high).
    public let clippedRatio: Tensor
    /// logp - old_logp; RLinf's approx_kl is the masked mean of its negative.
    public let logRatio: Tensor
    /// Where the clipped surrogate was the larger loss.
    public let clipped: Tensor
    /// Where the dual clip bound the loss (A < 0 and -c A < L).
    public let dualClipped: Tensor
  }

  public static func policy(
    logProbs: Tensor, oldLogProbs: Tensor, advantages: Tensor, clipLow: Double, clipHigh: Double, clipC: Double?
  ) throws -> PolicyLoss {
    let logRatio = try logProbs - oldLogProbs
    let ratio = try logRatio.exp()
    let clippedRatio = try ratio.clamp(min: 1 - clipLow, max: 1 + clipHigh)
    let unclipped = try -(ratio * advantages)
    let clippedLoss = try -(clippedRatio * advantages)
    var loss = try unclipped.maximum(clippedLoss)
    let clipped = try clippedLoss.gt(unclipped)
    var dual = try Tensor.zeros(loss.shape, dtype: .bool)
    if let c = clipC {
      let bound = try advantages * -c  // -c A
      let negative = try advantages.lt(0)
      dual = try negative.logicalAnd(loss.gt(bound))
      loss = try Tensor.where(negative, loss.minimum(bound), loss)
    }
    return PolicyLoss(
      loss: loss, ratio: try ratio.detached(), clippedRatio: try clippedRatio.detached(), logRatio: try logRatio.detached(),
      clipped: clipped, dualClipped: dual)
  }

  /// Huber loss of `values` against `returns` with PPO value clipping around the rollout values:
  /// max(huber(v - R), huber(old + clip(v - old, -eps, eps) - R)), per element; `clipped` marks
  /// the values that moved more than eps from the rollout's.
  public static func value(
    values: Tensor, oldValues: Tensor, returns: Tensor, valueClip: Double, huberDelta: Double
  ) throws -> (loss: Tensor, clipped: Tensor) {
    let moved = try values - oldValues
    let clippedValues = try oldValues + moved.clamp(min: -valueClip, max: valueClip)
    let plain = try huber(values - returns, delta: huberDelta)
    let limited = try huber(clippedValues - returns, delta: huberDelta)
    return (try plain.maximum(limited), try moved.abs().gt(valueClip))
  }

  /// 1 - Var(R - V) / Var(R) over the positions `mask` keeps (unbiased variances, as RLinf);
  /// nil where it is undefined (fewer than two positions, or returns without variance).
  public static func explainedVariance(values: Tensor, returns: Tensor, mask: Tensor) throws -> Double? {
    try Autograd.withNoGrad {
      let r = try returns.maskedSelect(mask), residual = try (returns - values).maskedSelect(mask)
      guard r.size(0) > 1 else { return nil }
      let total = try r.variance().item()
      return total > 0 ? 1 - (try residual.variance().item()) / total : nil
    }
  }

  /// 0.5 x^2 inside |x| <= delta, delta (|x| - delta / 2) outside.
  public static func huber(_ x: Tensor, delta: Double) throws -> Tensor {
    let magnitude = try x.abs()
    return try Tensor.where(magnitude.le(delta), x.square() * 0.5, (magnitude - delta / 2) * delta)
  }

  /// Mean of `x` over positions where `mask` is true (0 when none).
  public static func maskedMean(_ x: Tensor, mask: Tensor) throws -> Tensor {
    let m = try mask.to(dtype: x.dtype)
    return try (x * m).sum() / Swift.max(try m.sum().item(), 1)
  }

  /// Trajectory-length normalisation: mean(x * mask / (length / maxEpisodeSteps)), so a short
  /// trajectory weighs as much as a long one. `lengths` broadcast against x (e.g. [1, B]).
  public static func lengthNormalizedMean(_ x: Tensor, mask: Tensor, lengths: Tensor, maxEpisodeSteps: Int) throws -> Tensor {
    let weight = try lengths.to(dtype: x.dtype).clamp(min: 1) / Double(maxEpisodeSteps)
    return try (x * mask.to(dtype: x.dtype) / weight).mean()
  }
}
