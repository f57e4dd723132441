import Config
import Torch

/// Advantages and returns (shared/reference/rlinf-vla.md, "Data layout and advantages").
/// Time runs along dimension 0: rewards [T, B], values and dones [T + 1, B], where dones[t + 1]
/// says the episode ended with step t and values[T] is the bootstrap value.
public enum Advantages {
  /// Generalised advantage estimation (Schulman et al. 2016):
  ///   delta_t = r_t + gamma * V_{t+1} * (1 - d_{t+1}) - V_t
  ///   A_t     = delta_t + gamma * lambda * (1 - d_{t+1}) * A_{t+1}
  ///   return_t = A_t + V_t
  public static func gae(
    rewards: Tensor, values: Tensor, dones: Tensor, gamma: Double, lambda: Double
  ) throws -> (advantages: Tensor, returns: Tensor) {
    let steps = rewards.size(0)
    guard values.size(0) == steps + 1, dones.size(0) == steps + 1 else {
      throw TorchError("gae: rewards have \(steps) steps; values and dones need \(steps + 1), got \(values.size(0)) and \(dones.size(0))")
    }
    return try Autograd.withNoGrad {
      let notDone = try 1.0 - dones.to(dtype: .float32)  // [T + 1, B]
      var next = try rewards.select(dim: 0, index: 0).zerosLike()  // A_{T} = 0
      var advantages: [Tensor] = []
      for t in stride(from: steps - 1, through: 0, by: -1) {
        let continuing = try notDone.select(dim: 0, index: t + 1)
        let delta = try rewards.select(dim: 0, index: t) + values.select(dim: 0, index: t + 1) * continuing * gamma
          - values.select(dim: 0, index: t)
        next = try delta + next * continuing * (gamma * lambda)
        advantages.append(next)
      }
      let stacked = try Tensor.stack(advantages.reversed(), dim: 0)  // [T, B]
      return (stacked, try stacked + values.slice(dim: 0, start: 0, end: steps))
    }
  }

  /// Partial reset: the last reward of an episode gets + gamma * V(final observation), so a
  /// cut-off episode is valued as continuing: `standard` on truncation only, `always` on
  /// truncation and termination, `none` never. All [T, B].
  public static func bootstrap(
    rewards: Tensor, finalValues: Tensor, terminated: Tensor, truncated: Tensor, gamma: Double, type: BootstrapType
  ) throws -> Tensor {
    if type == .none { return rewards }
    let eligible = type == .standard ? truncated : try truncated.logicalOr(terminated)
    return try rewards + finalValues * eligible.to(dtype: rewards.dtype) * gamma
  }

  /// Normalises to zero mean, unit standard deviation with the statistics of the positions where
  /// `mask` is true (unbiased std, + 1e-5, as RLinf's `safe_normalize`); every entry is
  /// normalised, masked-out ones too (the update never trains on those).
  public static func normalize(_ x: Tensor, mask: Tensor, eps: Double = 1e-5) throws -> Tensor {
    let counted = try x.maskedSelect(mask)
    guard counted.size(0) > 0 else { return x }
    return try (x - counted.mean()) / (counted.std() + eps)
  }

  /// Positions inside each environment's first episode: loss_mask = (cumsum(dones) == 0) for
  /// dones [T + 1, B] as above, giving [T, B] (step t counts if no episode ended before it).
  public static func firstEpisodeMask(dones: Tensor) throws -> Tensor {
    let ended = try dones.slice(dim: 0, start: 0, end: dones.size(0) - 1).to(dtype: .int64).cumsum(dim: 0)  // [T, B]
    return try ended.eq(0)
  }

  /// GRPO (group relative policy optimisation): each environment's score is the summed reward of
  /// its first episode; environments b*g ..< (b+1)*g form a group sharing one reset state;
  /// A = (score - group mean) / (group std + 1e-6), broadcast over the first-episode mask.
  public static func grpo(
    rewards: Tensor, dones: Tensor, groupSize: Int
  ) throws -> (advantages: Tensor, lossMask: Tensor, scores: Tensor) {
    let envs = rewards.size(1)
    guard groupSize >= 2 else { throw TorchError("grpo: a group needs at least 2 environments, got group_size \(groupSize)") }
    try checkGroups(envs: envs, groupSize: groupSize)
    return try Autograd.withNoGrad {
      let mask = try firstEpisodeMask(dones: dones)  // [T, B]
      let scores = try (rewards * mask.to(dtype: rewards.dtype)).sum(dims: [0])  // [B]
      let groups = try scores.reshape([envs / groupSize, groupSize])
      let mean = try groups.mean(dims: [1], keepDims: true)
      let std = try groups.std(dims: [1], keepDims: true)
      let advantage = try ((groups - mean) / (std + 1e-6)).reshape([envs])  // [B]
      let broadcast = try advantage.unsqueeze(0) * mask.to(dtype: advantage.dtype)  // [T, B]
      return (broadcast, mask, scores)
    }
  }

  /// RLinf's success filter (`filter_rewards`, any advantage type): environments b*g ..< (b+1)*g
  /// form a group; a group whose mean window reward (summed over the steps `mask` [T, B] keeps)
  /// lies outside [lower, upper] (all failed or all succeeded) is dropped. Returns the mask with
  /// those groups' columns cleared. rewards [T, B].
  public static func successFilter(rewards: Tensor, mask: Tensor, groupSize: Int, lower: Double, upper: Double) throws -> Tensor {
    let envs = rewards.size(1)
    try checkGroups(envs: envs, groupSize: groupSize)
    return try Autograd.withNoGrad {
      let scores = try (rewards * mask.to(dtype: rewards.dtype)).sum(dims: [0])  // [B]
      let mean = try scores.reshape([envs / groupSize, groupSize]).mean(dims: [1], keepDims: true)  // [B / g, 1]
      let keep = try mean.ge(lower).logicalAnd(mean.le(upper)).expand([envs / groupSize, groupSize]).reshape([1, envs])
      return try mask.logicalAnd(keep)
    }
  }

  static func checkGroups(envs: Int, groupSize: Int) throws {
    guard groupSize >= 1, envs % groupSize == 0 else {
      throw TorchError("\(envs) environments do not split into groups of group_size \(groupSize)")
    }
  }
}
