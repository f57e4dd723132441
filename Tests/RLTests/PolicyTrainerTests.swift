import Config
import Models
import RL
import Testing
import TestSupport
import Torch

/// The trainer end to end on a real tiny VLA policy, as a one-step task ("VLA bandit"): every
/// action whose x-translation is positive earns reward 1. PPO and GRPO must raise the share of
/// such actions from about one half; the critic warm-up must leave the policy untouched.
@Suite(.serialized) struct PolicyTrainerTests {
  static let envs = 32, chunk = 1, steps = 2

  static func policy(critic: Bool) throws -> VLAPolicy {
    let tokenizer = try SentencePieceTokenizer(path: repositoryRoot + "/configs/tiny-tokenizer.model")
    var config = VLAConfig.tiny(head: .oft, numActionChunks: chunk, textVocabulary: tokenizer.vocabularySize)
    config.vision[0].depth = 2
    config.llm.numHiddenLayers = 2
    config.valueOutputs = critic ? 1 : 0
    return try VLAPolicy(config: config, tokenizer: tokenizer, generator: Generator(seed: 4))
  }

  static func config(_ adv: AdvantageType) -> TrainingConfig {
    var c = TrainingConfig()
    c.algorithm.advType = adv
    c.algorithm.lossType = adv == .gae ? .actorCritic : .actor
    c.algorithm.groupSize = adv == .grpo ? 4 : 1
    c.algorithm.updateEpoch = 2
    c.actor.model.addValueHead = adv == .gae
    c.actor.globalBatchSize = 32
    c.actor.microBatchSize = 16
    c.actor.optim.lr = 2e-3
    return c
  }

  /// Fills a window: the policy samples, each env step is one whole episode (terminated).
  /// Returns the share of actions with positive x.
  static func fill(_ buffer: RolloutBuffer, policy: VLAPolicy, sampling: SamplingSettings, generator: Generator) throws -> Double {
    let images = try Tensor.randint(0, 256, shape: [envs, 64, 64, 3], generator: generator).to(dtype: .uint8)
    let instructions = Array(repeating: "pick up the red cube", count: envs)
    var positive = 0.0
    for t in 0..<steps {
      let out = try Autograd.withNoGrad { try policy.act(images: images, instructions: instructions, sampling: sampling, generator: generator) }
      try buffer.recordPolicy(step: t, images: images, state: nil, instructions: instructions, output: out)
      let x = try out.actions.select(dim: 2, index: 0).gt(0).to(dtype: .float32)  // [B, K]
      positive += try x.mean().item() / Double(steps)
      try buffer.recordEnvironment(
        step: t, rewards: x.scalars(as: Float.self), terminated: Array(repeating: true, count: envs), truncated: Array(repeating: false, count: envs))
    }
    if policy.valueHead != nil {
      try buffer.recordBootstrap(values: Autograd.withNoGrad { try policy.predictValues(images: images, instructions: instructions) })
    }
    return positive
  }

  static func learn(_ adv: AdvantageType) throws -> (first: Double, last: Double) {
    let policy = try policy(critic: adv == .gae)
    let trainer = try PolicyTrainer(policy: policy, config: config(adv))
    let buffer = try RolloutBuffer(steps: steps, envs: envs, chunk: chunk, imageSize: 64, stateSize: 0, valueOutputs: policy.config.valueOutputs)
    let generator = try Generator(seed: 9)
    var shares: [Double] = []
    for _ in 0..<20 {
      shares.append(try fill(buffer, policy: policy, sampling: trainer.trainSampling, generator: generator))
      let metrics = try trainer.train(on: [buffer], autoReset: false)
      #expect(metrics["train/actor/skipped_steps"] == 0)
    }
    return (shares[0], shares.suffix(2).reduce(0, +) / 2)
  }

  @Test func ppoRaisesTheRewardedActions() throws {
    let (first, last) = try Self.learn(.gae)
    #expect(first < 0.65 && last > 0.85, "share of rewarded actions \(first) -> \(last)")
  }

  @Test func grpoRaisesTheRewardedActions() throws {
    let (first, last) = try Self.learn(.grpo)
    #expect(first < 0.65 && last > 0.85, "share of rewarded actions \(first) -> \(last)")
  }

  @Test func criticWarmupTrainsOnlyTheValueHead() throws {
    let policy = try Self.policy(critic: true)
    var config = Self.config(.gae)
    config.actor.optim.criticWarmupSteps = 1
    let trainer = try PolicyTrainer(policy: policy, config: config)
    let buffer = try RolloutBuffer(steps: Self.steps, envs: Self.envs, chunk: Self.chunk, imageSize: 64, stateSize: 0, valueOutputs: 1)
    func snapshot() throws -> [String: [Float]] {
      var out: [String: [Float]] = [:]
      for (name, p) in policy.namedParameters() { out[name] = try p.detached().contiguous().scalars(as: Float.self) }
      return out
    }
    let before = try snapshot()
    _ = try Self.fill(buffer, policy: policy, sampling: trainer.trainSampling, generator: Generator(seed: 1))
    let warm = try trainer.train(on: [buffer], autoReset: false)
    #expect(warm["train/critic/warmup"] == 1)
    let after = try snapshot()
    let changed = before.keys.filter { before[$0] != after[$0] }
    #expect(!changed.isEmpty && changed.allSatisfy { $0.hasPrefix("value_head.") }, "changed: \(changed.sorted().prefix(5))")
    // The next update trains everything.
    let full = try trainer.train(on: [buffer], autoReset: false)
    #expect(full["train/critic/warmup"] == 0)
    let later = try snapshot()
    #expect(later["language_model.lm_head.weight"] != after["language_model.lm_head.weight"])
  }

  @Test func predictedValuesEqualTheRolloutValues() throws {
    let policy = try Self.policy(critic: true)
    let images = try Tensor.randint(0, 256, shape: [3, 64, 64, 3], generator: Generator(seed: 2)).to(dtype: .uint8)
    let text = ["pick up the red cube", "put the blue cube on the green plate", "pick up the red cube"]
    let rollout = try policy.act(images: images, instructions: text, sampling: SamplingSettings(), generator: Generator(seed: 3))
    let direct = try policy.predictValues(images: images, instructions: text)
    #expect(try (rollout.values! - direct).abs().max().item() < 1e-5)
  }
}
