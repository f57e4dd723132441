import Config
import Torch

/// PPO's optimisation phase over one rollout's samples: `updateEpochs` passes of shuffled
/// minibatches of `globalBatchSize` samples (all of them when there are fewer), each accumulated
/// over micro-batches of at most `microBatchSize`, then gradient clipping and one AdamW step; a
/// step whose loss or gradient is not finite is skipped (counted, weights untouched). GRPO is
/// the same update without a critic.
public struct PPOUpdateConfig: Sendable {
  public var clipRatioLow: Double
  public var clipRatioHigh: Double
  /// Dual clip bound for negative advantages; nil disables it.
  public var clipRatioC: Double?
  public var entropyBonus: Double
  public var valueClip: Double
  public var huberDelta: Double
  public var updateEpochs: Int
  public var globalBatchSize: Int
  public var microBatchSize: Int
  public var clipGrad: Double
  /// Critic warm-up: the loss is the value loss alone and only the optimizer group named
  /// `valueGroup` steps (the others' gradients are dropped, so AdamW leaves them untouched).
  public var criticOnly = false
  public var valueGroup = "value_head"
  /// Trajectory-length normalisation of the policy and critic losses: the window length the
  /// sample lengths are measured against (nil: plain masked mean).
  public var lengthScale: Int? = nil
  /// With a process group: start each gradient bucket's all-reduce during the backward that
  /// completes it (Megatron's `overlap_grad_reduce`); otherwise all buckets after the backward.
  public var overlapGradReduce = true

  /// The update a config's knobs describe (their defaults when none is given); critic warm-up
  /// and length normalisation depend on the iteration and are set by the caller.
  public init(algorithm a: AlgorithmConfig = AlgorithmConfig(), actor: ActorConfig = ActorConfig()) {
    clipRatioLow = a.clipRatioLow
    clipRatioHigh = a.clipRatioHigh
    clipRatioC = a.clipRatioC
    entropyBonus = a.entropyBonus
    valueClip = a.valueClip
    huberDelta = a.huberDelta
    updateEpochs = a.updateEpoch
    globalBatchSize = actor.globalBatchSize
    microBatchSize = actor.microBatchSize
    clipGrad = actor.optim.clipGrad
    overlapGradReduce = actor.overlapGradReduce
  }

  /// A rank of a process group may have no samples (the others' steps then wait for nobody:
  /// every rank skips the update).
  func validate(samples: Int, ranks: Int) throws {
    guard globalBatchSize >= 1, microBatchSize >= 1, globalBatchSize % microBatchSize == 0 else {
      throw TorchError("global_batch_size \(globalBatchSize) must be a positive multiple of micro_batch_size \(microBatchSize)")
    }
    guard globalBatchSize % ranks == 0 else {
      throw TorchError("global_batch_size \(globalBatchSize) must divide over the \(ranks) ranks")
    }
    guard samples >= 1 || ranks > 1 else { throw TorchError("the update has no samples") }
  }
}

/// One rollout's training samples, all indexed by sample along dimension 0.
public struct PPOSamples {
  /// Rollout log-probabilities [N, ...] at the chosen granularity.
  public var oldLogProbs: Tensor
  /// Advantages broadcastable to oldLogProbs.
  public var advantages: Tensor
  /// Which entries count, same shape as oldLogProbs.
  public var mask: Tensor
  /// Critic targets and rollout values [N, ...]; nil for GRPO.
  public var returns: Tensor?
  public var oldValues: Tensor?
  /// Mask for the entropies when they have another granularity than the log-probs (nil: `mask`).
  public var entropyMask: Tensor?
  /// Length of each sample's trajectory [N] for trajectory-length normalisation.
  public var lengths: Tensor?

  public init(
    oldLogProbs: Tensor, advantages: Tensor, mask: Tensor, returns: Tensor? = nil, oldValues: Tensor? = nil,
    entropyMask: Tensor? = nil, lengths: Tensor? = nil
  ) {
    self.oldLogProbs = oldLogProbs
    self.advantages = advantages
    self.mask = mask
    self.returns = returns
    self.oldValues = oldValues
    self.entropyMask = entropyMask
    self.lengths = lengths
  }

  public var count: Int { oldLogProbs.size(0) }

  /// Samples `rows` [M] int64 of these, in that order.
  public func selecting(_ rows: Tensor) throws -> PPOSamples {
    func pick(_ t: Tensor?) throws -> Tensor? { try t?.indexSelect(dim: 0, index: rows.to(device: t!.device)) }
    return PPOSamples(
      oldLogProbs: try pick(oldLogProbs)!, advantages: try pick(advantages)!, mask: try pick(mask)!, returns: try pick(returns),
      oldValues: try pick(oldValues), entropyMask: try pick(entropyMask), lengths: try pick(lengths))
  }

  /// The same samples on `device` (where the policy recomputes its log-probs).
  public func to(device: Device) throws -> PPOSamples {
    func move(_ t: Tensor?) throws -> Tensor? { try t?.to(device: device) }
    return PPOSamples(
      oldLogProbs: try oldLogProbs.to(device: device), advantages: try advantages.to(device: device), mask: try mask.to(device: device),
      returns: try move(returns), oldValues: try move(oldValues), entropyMask: try move(entropyMask), lengths: try move(lengths))
  }
}

/// What the recomputation returns for a set of sample indices.
public struct Recomputed {
  public let logProbs: Tensor
  public let entropy: Tensor
  public let values: Tensor?
  public init(logProbs: Tensor, entropy: Tensor, values: Tensor?) {
    self.logProbs = logProbs
    self.entropy = entropy
    self.values = values
  }
}

/// Averages of the update, with RLinf's metric names.
public struct PPOMetrics: Sendable {
  public var values: [String: Double] = [:]
  public var skippedSteps = 0
  public var steps = 0
}

public enum PPOUpdate {
  /// Runs the update. `recompute(indices)` runs the policy (with gradients) on those samples;
  /// the micro-batches of an optimizer step are spread over `work`'s workers (data parallel),
  /// so `recompute` must be safe to call from several threads at once.
  ///
  /// With a process `group`, this rank's `samples` are its share: `globalBatchSize` counts the
  /// samples of all ranks, each rank's minibatch is its 1/world part, gradients are averaged
  /// over ranks before clipping and the step, and a step is skipped on every rank when any
  /// rank's gradients are not finite. Every rank takes the same number of steps, the number
  /// its rank with the fewest samples allows (the others leave the rest of an epoch's shuffle
  /// out), because each step is a collective that all ranks must enter.
  public static func run(
    _ samples: PPOSamples, config: PPOUpdateConfig, optimizer: AdamW, shuffleSeed: UInt64, work: ParallelWork = SerialWork(),
    group: ProcessGroup? = nil, recompute: @escaping ([Int]) throws -> Recomputed
  ) throws -> PPOMetrics {
    try config.validate(samples: samples.count, ranks: group?.worldSize ?? 1)
    if config.criticOnly && !optimizer.groups.contains(where: { $0.name == config.valueGroup }) {
      throw TorchError("critic warm-up needs an optimizer group named \(config.valueGroup)")
    }
    let parameters = optimizer.groups.flatMap { $0.parameters.map(\.tensor) }
    let reducer = try group.map { try GradientReducer(parameters.filter(\.requiresGrad), over: $0) }
    let generator = try Generator(seed: shuffleSeed)
    var sums: [String: (sum: Double, weight: Double)] = [:]  // per metric: sum over steps, steps
    var metrics = PPOMetrics()
    // Samples per step on this rank, and steps per epoch.
    let (batch, steps): (Int, Int)
    if let group {
      let fewest = try group.allGather(Tensor([Int64(samples.count)]), "all-gather of sample counts").map { Int(try $0.item()) }.min()!
      batch = max(min(config.globalBatchSize / group.worldSize, fewest), 1)
      steps = fewest / batch
    } else {
      batch = min(config.globalBatchSize, samples.count)
      steps = samples.count / batch
    }
    let micros = (batch + config.microBatchSize - 1) / config.microBatchSize
    for _ in 0..<config.updateEpochs {
      let order = try generator.permutation(samples.count)
      for start in stride(from: 0, to: steps * batch, by: batch) {
        optimizer.zeroGrad()
        // Gradient accumulation over the micro-batches, side by side on the workers; each
        // micro-batch's mean weighs by its share of the minibatch.
        let (parts, locallyFinite) = try DataParallel.gradients(
          of: parameters, shards: micros, work: work, overlapping: config.overlapGradReduce ? reducer : nil
        ) { micro in
          let (from, to) = (start + micro * batch / micros, start + (micro + 1) * batch / micros)
          let (loss, parts) = try microBatchLoss(samples, rows: Array(order[from..<to]), config: config, recompute: recompute)
          return (try loss * (Double(to - from) / Double(batch)), (parts, Double(to - from) / Double(batch)))
        }
        // A metric a micro-batch leaves out (undefined there) averages over the others.
        var stepSums: [String: (sum: Double, weight: Double)] = [:]
        for (micro, weight) in parts {
          for (key, v) in micro { stepSums[key, default: (0, 0)].sum += v * weight; stepSums[key, default: (0, 0)].weight += weight }
        }
        // Every rank averages (also one whose gradients are not finite: the buckets are
        // collectives), then all agree whether to step.
        try reducer?.finish()
        let finite = try group.map { try GradientBuckets.allFinite(locallyFinite, over: $0) } ?? locallyFinite
        if config.criticOnly {
          for group in optimizer.groups where group.name != config.valueGroup { for (_, p) in group.parameters { p.zeroGrad() } }
        }
        let norm = finite ? try clipGradientNorm(parameters, maxNorm: config.clipGrad) : .nan
        metrics.steps += 1
        guard finite, norm.isFinite else {
          // Skip: weights stay as they were; the bad gradients are discarded.
          optimizer.zeroGrad()
          metrics.skippedSteps += 1
          continue
        }
        try optimizer.step()
        stepSums["train/actor/grad_norm"] = (norm, 1)
        for (key, v) in stepSums where v.weight > 0 { sums[key, default: (0, 0)].sum += v.sum / v.weight; sums[key, default: (0, 0)].weight += 1 }
      }
    }
    metrics.values = sums.mapValues { $0.sum / $0.weight }
    metrics.values["train/actor/lr"] = optimizer.groups.first?.lr ?? 0
    return metrics
  }

  /// Policy loss (masked mean of PPO-clip, or its trajectory-length-normalised mean), minus the
  /// entropy bonus, plus the critic loss (aggregated the same way); the critic loss alone during
  /// warm-up.
  static func microBatchLoss(
    _ samples: PPOSamples, rows: [Int], config: PPOUpdateConfig, recompute: ([Int]) throws -> Recomputed
  ) throws -> (Tensor, [String: Double]) {
    let index = try Tensor(rows.map(Int64.init)).to(device: samples.mask.device)
    func pick(_ t: Tensor) throws -> Tensor { try t.indexSelect(dim: 0, index: index) }
    let mask = try pick(samples.mask)
    let fresh = try recompute(rows)
    let policy = try Losses.policy(
      logProbs: fresh.logProbs, oldLogProbs: pick(samples.oldLogProbs), advantages: pick(samples.advantages),
      clipLow: config.clipRatioLow, clipHigh: config.clipRatioHigh, clipC: config.clipRatioC)
    // The aggregate RLinf uses: a masked mean, or with trajectory-length normalisation
    // mean(x mask / (length / window)) with each sample's length broadcast as [n, 1, ...].
    func aggregate(_ x: Tensor, mask: Tensor) throws -> Tensor {
      guard let lengths = samples.lengths, let scale = config.lengthScale else { return try Losses.maskedMean(x, mask: mask) }
      let perSample = try pick(lengths).reshape([rows.count] + Array(repeating: 1, count: Swift.max(x.rank - 1, 0)))
      return try Losses.lengthNormalizedMean(x, mask: mask, lengths: perSample, maxEpisodeSteps: scale)
    }
    let policyLoss = try aggregate(policy.loss, mask: mask)
    let entropy = try Losses.maskedMean(fresh.entropy, mask: samples.entropyMask.map(pick) ?? mask)
    var total = try config.criticOnly ? policyLoss.zerosLike() : policyLoss - entropy * config.entropyBonus
    // RLinf's metric names and definitions (docs/rlinf-differences.md lists where ours differ).
    func mean(_ x: Tensor) throws -> Double { try Losses.maskedMean(x.to(dtype: .float32), mask: mask).item() }
    var parts: [String: Double] = [
      "train/actor/policy_loss": try policyLoss.item(),
      "train/actor/policy_loss_abs": try aggregate(policy.loss.abs(), mask: mask).item(),
      "train/actor/entropy_loss": try entropy.item(),
      "train/actor/ratio": try mean(policy.ratio),
      "train/actor/ratio_abs": try mean((policy.ratio - 1).abs()),
      "train/actor/clipped_ratio": try mean(policy.clippedRatio),
      "train/actor/clip_fraction": try mean(policy.clipped),
      // The mean ratio where the dual clip is active (0 elsewhere).
      "train/actor/dual_cliped_ratio": try mean(policy.ratio * policy.dualClipped.to(dtype: .float32)),
      "train/actor/dual_clip_fraction": try mean(policy.dualClipped),
      // mean(old - new): the first-order estimate of KL(old || new).
      "train/actor/approx_kl": -(try mean(policy.logRatio)),
    ]
    if let values = fresh.values, let returns = samples.returns, let oldValues = samples.oldValues {
      let returns = try pick(returns)
      let critic = try Losses.value(
        values: values, oldValues: pick(oldValues), returns: returns, valueClip: config.valueClip, huberDelta: config.huberDelta)
      // The critic trains where the sample counts: a sample counts where any of its entries
      // does (dones are per chunk). [n, ...] -> [n] -> broadcast to the value loss's shape.
      let counts = try mask.reshape([rows.count, -1]).any(dims: [1])
        .reshape([rows.count] + Array(repeating: 1, count: Swift.max(critic.loss.rank - 1, 0)))
      let valueMask = try counts.expand(critic.loss.shape)
      let valueLoss = try aggregate(critic.loss, mask: valueMask)
      total = try total + valueLoss
      parts["train/critic/value_loss"] = try valueLoss.item()
      parts["train/critic/value_clip_ratio"] = try Losses.maskedMean(critic.clipped.to(dtype: .float32), mask: valueMask).item()
      // Of the values being trained, against the returns (RLinf's: current, not rollout values).
      if let explained = try Losses.explainedVariance(values: values, returns: returns, mask: valueMask) {
        parts["train/critic/explained_variance"] = explained
      }
    }
    parts["train/actor/total_loss"] = try total.item()
    return (total, parts)
  }
}

