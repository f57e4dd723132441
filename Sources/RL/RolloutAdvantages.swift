import Config
import Torch

/// Advantages, returns and loss mask of one rollout window, per training sample: N = T x B
/// samples (step-major), G = 1 entry per sample at chunk level or K at action level. GAE
/// advantages come unnormalised (see PolicyTrainer); GRPO's are group-normalised already.
public struct RolloutAdvantages {
  public let advantages: Tensor   // [N, G]
  /// Critic targets [N, G] (GAE only).
  public let returns: Tensor?
  /// Which samples count [N] bool.
  public let mask: Tensor
  /// Length in chunk steps of each sample's episode segment inside the window [N].
  public let lengths: Tensor
  /// rollout/* metrics of the window (advantage statistics come with the normalisation, which
  /// spans every window of an iteration).
  public let metrics: [String: Double]

  /// `autoReset`: partial reset (every step counts); otherwise one episode per window and the
  /// steps after its end are masked out (loss_mask = cumsum(dones) == 0).
  public init(buffer: RolloutBuffer, algorithm a: AlgorithmConfig, autoReset: Bool) throws {
    let (t, b) = (buffer.steps, buffer.envs)
    let n = t * b
    let dones = try buffer.dones()  // [T + 1, B]
    let result: (advantages: Tensor, returns: Tensor?, mask: Tensor, metrics: [String: Double]) = try Autograd.withNoGrad {
      let rewards = try buffer.rewards * a.rewardCoef  // [T, B, K]
      var metrics: [String: Double] = ["rollout/rewards": try rewards.sum(dims: [2]).mean().item()]
      // The success filter drops whole groups, for either advantage type, as RLinf's
      // preprocess_embodied_batch does.
      func filtered(_ mask: Tensor) throws -> Tensor {
        guard a.filterRewards else { return mask }
        let kept = try Advantages.successFilter(
          rewards: rewards.sum(dims: [2]), mask: mask, groupSize: a.groupSize, lower: a.rewardsLowerBound, upper: a.rewardsUpperBound)
        metrics["rollout/kept_trajectories"] = try kept.any(dims: [0]).to(dtype: .float32).mean().item()
        return kept
      }
      switch a.advType {
      case .grpo:
        let grpo = try Advantages.grpo(rewards: rewards.sum(dims: [2]), dones: dones, groupSize: a.groupSize)
        let mask = try filtered(grpo.lossMask)  // [T, B]
        let advantages = try grpo.advantages * mask.to(dtype: .float32)
        return (try advantages.reshape([n, 1]), nil, try mask.reshape([n]), metrics)
      case .gae:
        let mask = try filtered(autoReset ? try Tensor.ones([t, b], dtype: .bool) : try Advantages.firstEpisodeMask(dones: dones))  // [T, B]
        // Bootstrap bonus for episodes cut off inside the window: + gamma * V(final observation).
        let bonus = try Advantages.bootstrap(
          rewards: Tensor.zeros([t, b]), finalValues: buffer.finalValues.select(dim: 2, index: 0),
          terminated: buffer.terminated, truncated: buffer.truncated, gamma: a.gamma, type: a.bootstrapType)  // [T, B]
        let (advantages, returns): (Tensor, Tensor)
        if a.rewardType == .actionLevel {
          (advantages, returns) = try Self.actionLevelGAE(buffer: buffer, rewards: rewards, bonus: bonus, a: a)  // [N, K]
        } else {
          let r = try rewards.sum(dims: [2]) + bonus  // [T, B]
          let v = try buffer.values.select(dim: 2, index: 0)  // [T + 1, B]
          let gae = try Advantages.gae(rewards: r, values: v, dones: dones, gamma: a.gamma, lambda: a.gaeLambda)
          (advantages, returns) = (try gae.advantages.reshape([n, 1]), try gae.returns.reshape([n, 1]))
        }
        let flatMask = try mask.reshape([n])
        let keep = try flatMask.unsqueeze(1).expand(returns.shape)  // [N, G]
        let counted = try returns.maskedSelect(keep)
        if counted.size(0) > 0 {
          metrics["rollout/returns_mean"] = try counted.mean().item()
          metrics["rollout/returns_max"] = try counted.max().item()
          metrics["rollout/returns_min"] = try counted.min().item()
          metrics["rollout/values_mean"] = try Losses.maskedMean(buffer.values.slice(dim: 0, start: 0, end: t).reshape([n, -1]), mask: keep).item()
        }
        return (advantages, returns, flatMask, metrics)
      }
    }
    advantages = result.advantages
    returns = result.returns
    mask = result.mask
    metrics = result.metrics
    lengths = try Self.segmentLengths(dones: dones.ints(), steps: t, envs: b)
  }

  /// GAE over the window unrolled to one time step per action: [T, B, K] -> [T x K, B]. The
  /// episode-end flag and the bootstrap bonus sit on the last action of the chunk that ended it;
  /// values are per action ([T + 1, B, K]), the window's bootstrap value is V(next obs)[0].
  static func actionLevelGAE(buffer: RolloutBuffer, rewards: Tensor, bonus: Tensor, a: AlgorithmConfig) throws -> (Tensor, Tensor) {
    let (t, b, k) = (buffer.steps, buffer.envs, buffer.chunk)
    guard buffer.valueOutputs == k else {
      throw TorchError("action-level GAE needs \(k) values per observation (value_type action_level), the critic gives \(buffer.valueOutputs)")
    }
    func unroll(_ x: Tensor) throws -> Tensor { try x.permute([0, 2, 1]).reshape([t * k, b]) }  // [T, B, K] -> [T K, B]
    let lastOfChunk = try Tensor.cat([Tensor.zeros([t, b, k - 1]), bonus.unsqueeze(2)], dim: 2)  // [T, B, K]
    let r = try unroll(rewards + lastOfChunk)
    let v = try Tensor.cat([
      unroll(buffer.values.slice(dim: 0, start: 0, end: t)),
      buffer.values.select(dim: 0, index: t).select(dim: 1, index: 0).unsqueeze(0),
    ], dim: 0)  // [T K + 1, B]
    let ended = try buffer.terminated.logicalOr(buffer.truncated).to(dtype: .float32)  // [T, B]
    let endFlags = try unroll(Tensor.cat([Tensor.zeros([t, b, k - 1]), ended.unsqueeze(2)], dim: 2))
    let d = try Tensor.cat([Tensor.zeros([1, b]), endFlags], dim: 0)  // [T K + 1, B]
    let gae = try Advantages.gae(rewards: r, values: v, dones: d, gamma: a.gamma, lambda: a.gaeLambda)
    func roll(_ x: Tensor) throws -> Tensor { try x.reshape([t, k, b]).permute([0, 2, 1]).reshape([t * b, k]) }  // -> [N, K]
    return (try roll(gae.advantages), try roll(gae.returns))
  }

  /// For every (step, env), the number of steps of the episode segment it belongs to inside the
  /// window; `dones` [T + 1, B] row-major as in RolloutBuffer.dones().
  static func segmentLengths(dones: [Int], steps: Int, envs: Int) throws -> Tensor {
    var lengths = [Float](repeating: 0, count: steps * envs)
    for env in 0..<envs {
      var start = 0
      for step in 0..<steps where dones[(step + 1) * envs + env] != 0 || step == steps - 1 {
        for s in start...step { lengths[s * envs + env] = Float(step - start + 1) }
        start = step + 1
      }
    }
    return try Tensor(lengths, shape: [steps * envs])
  }
}
