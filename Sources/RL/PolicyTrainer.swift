import Config
import Models
import Torch

/// The actor side of PPO and GRPO for a VLA policy: turns a filled rollout window into training
/// samples at the configured granularities and runs the clipped update on them. The optimizer has
/// two groups, the policy (`actor.optim.lr`) and the value head (`value_lr`); during the first
/// `critic_warmup_steps` iterations only the value head trains.
public final class PolicyTrainer {
  public let policy: VLAPolicy
  public let optimizer: AdamW
  /// The config; `apply` swaps in a live-changed one.
  public private(set) var config: TrainingConfig
  /// Updates done so far (the global step; restored when a run resumes from a checkpoint).
  public var updates = 0
  /// Where the update's micro-batches run: side by side on the pipeline's actor workers, or one
  /// after another on the calling thread.
  public var work: ParallelWork = SerialWork()
  /// The data-parallel ranks whose gradients each update averages (nil: this process alone).
  public var group: ProcessGroup?

  public init(policy: VLAPolicy, config: TrainingConfig) throws {
    self.policy = policy
    self.config = config
    let o = config.actor.optim
    let all = policy.namedParameters()
    let critic = all.filter { $0.name.hasPrefix("value_head.") }
    var groups = [AdamW.ParamGroup(name: "policy", parameters: all.filter { !$0.name.hasPrefix("value_head.") }, lr: o.lr, weightDecay: o.weightDecay)]
    if !critic.isEmpty { groups.append(.init(name: "value_head", parameters: critic, lr: o.valueLr, weightDecay: o.weightDecay)) }
    optimizer = try AdamW(groups: groups, betas: (o.adamBeta1, o.adamBeta2), eps: o.adamEps)
  }

  /// Takes a config with live-tunable keys changed (learning rates go to the optimizer groups).
  public func apply(_ changed: TrainingConfig) {
    config = changed
    for group in optimizer.groups {
      group.lr = group.name == "value_head" ? changed.actor.optim.valueLr : changed.actor.optim.lr
    }
  }

  /// The sampling distribution of training rollouts (the update scores tokens under the same one).
  public var trainSampling: SamplingSettings { Self.trainSampling(config) }

  /// The same, for a config before any trainer exists (the automatic placement's trials).
  public static func trainSampling(_ config: TrainingConfig) -> SamplingSettings {
    SamplingSettings(temperature: config.algorithm.sampling.temperatureTrain, topK: config.algorithm.sampling.topK)
  }

  /// Advantages of each window (one per rollout epoch), then `update_epoch` passes over all
  /// their samples; returns rollout/* and train/* metrics.
  public func train(on windows: [RolloutBuffer], autoReset: Bool) throws -> [String: Double] {
    guard let first = windows.first else { throw TorchError("train: no rollout windows") }
    let a = config.algorithm
    let k = first.chunk
    let withCritic = a.lossType == .actorCritic
    let started = ContinuousClock.now
    let estimates = try windows.map { try RolloutAdvantages(buffer: $0, algorithm: a, autoReset: autoReset) }
    var metrics: [String: Double] = [:]
    for estimate in estimates {
      for (key, value) in estimate.metrics { metrics[key, default: 0] += value / Double(windows.count) }
    }
    // Every window's samples along one axis, window-major: N = windows x T x B.
    func joined(_ parts: (Int) throws -> Tensor) throws -> Tensor { try Tensor.cat(windows.indices.map(parts), dim: 0) }
    let mask = try joined { estimates[$0].mask }  // [N]
    var advantages = try joined { estimates[$0].advantages }  // [N, G]
    let counted = try mask.to(dtype: .float32).sum().item()
    // With ranks, all skip together when any has nothing (the update's collectives need all).
    let fewest = try group.map { g in try g.allGather(Tensor([Float(counted)]), "all-gather of counted samples").map { try $0.item() }.min()! } ?? counted
    guard fewest > 0 else {
      // GRPO's filter dropped every group (of some rank): nothing to learn from this iteration.
      metrics["train/actor/skipped_empty_iterations"] = 1
      updates += 1
      return metrics
    }
    let expandedMask = try mask.unsqueeze(1).expand(advantages.shape)
    if a.advType == .gae && a.normalizeAdvantages { advantages = try Advantages.normalize(advantages, mask: expandedMask) }
    let selected = try advantages.maskedSelect(expandedMask)
    metrics["time/cal_adv_and_returns"] = (ContinuousClock.now - started).seconds
    metrics["rollout/advantages_mean"] = try selected.mean().item()
    metrics["rollout/advantages_max"] = try selected.max().item()
    metrics["rollout/advantages_min"] = try selected.min().item()

    func flat(_ x: Tensor) throws -> Tensor { try x.reshape([x.size(0) * x.size(1)] + Array(x.shape.dropFirst(2))) }  // [T, B, ...] -> [T B, ...]
    let returns = withCritic ? try joined { estimates[$0].returns! } : nil
    let oldValues = withCritic ? try joined { try flat(windows[$0].values.slice(dim: 0, start: 0, end: windows[$0].steps)) } : nil
    var samples = PPOSamples(
      oldLogProbs: try GranularityShapes.reduce(joined { try flat(windows[$0].logProbs) }, to: a.logprobType),
      advantages: try GranularityShapes.broadcast(advantages, to: a.logprobType, chunk: k),
      mask: try GranularityShapes.mask(mask, to: a.logprobType, chunk: k),
      returns: returns, oldValues: oldValues,
      entropyMask: try GranularityShapes.mask(mask, to: a.entropyType, chunk: k))
    if a.normalizeTrajectoryLength { samples.lengths = try joined { estimates[$0].lengths } }
    // Only samples that count are trained on: steps after an episode ended (auto_reset false)
    // and groups the success filter dropped would only add zeros to the loss at full cost.
    let kept = try Tensor.arange(0, Double(mask.size(0))).maskedSelect(mask).ints()
    samples = try samples.selecting(Tensor(kept.map(Int64.init)))
    metrics["train/actor/trained_samples"] = Double(kept.count)

    var update = PPOUpdateConfig(algorithm: a, actor: config.actor)
    update.criticOnly = withCritic && updates < config.actor.optim.criticWarmupSteps
    update.lengthScale = a.normalizeTrajectoryLength ? first.steps : nil

    // The observations behind every sample.
    let images = try joined { try flat(windows[$0].images) }  // [N, H, W, 3]
    let state = first.state == nil ? nil : try joined { try flat(windows[$0].state!) }
    let instructions = windows.flatMap { $0.instructions.flatMap { $0 } }
    let tokens = try joined { try flat(windows[$0].tokens) }  // [N, K, 7]
    let sampling = trainSampling
    let policy = self.policy
    let result = try PPOUpdate.run(samples.to(device: policy.device), config: update, optimizer: optimizer, shuffleSeed: UInt64(config.actor.seed) &+ UInt64(updates), work: work, group: group) { rows in
      let index = try Tensor(rows.map { Int64(kept[$0]) })
      let out = try policy.evaluate(
        images: images.indexSelect(dim: 0, index: index), instructions: rows.map { instructions[kept[$0]] },
        state: state.map { try $0.indexSelect(dim: 0, index: index) }, tokens: tokens.indexSelect(dim: 0, index: index), sampling: sampling)
      return Recomputed(
        logProbs: try GranularityShapes.reduce(out.logProbs, to: a.logprobType),
        entropy: try GranularityShapes.reduce(out.entropies, to: a.entropyType),
        values: withCritic ? out.values : nil)
    }
    updates += 1
    metrics.merge(result.values) { $1 }
    metrics["train/actor/skipped_steps"] = Double(result.skippedSteps)
    metrics["train/critic/warmup"] = update.criticOnly ? 1 : 0
    return metrics
  }
}

extension Duration {
  /// The duration in seconds.
  var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
