import RL
import Testing
import Torch

@Suite struct PPOUpdateTests {
  /// A linear softmax policy over 3 actions for 12 fixed samples, and PPO samples for it.
  final class Toy: Module {
    let head = try! Linear(4, 3, generator: try! Generator(seed: 7))
    var children: [(name: String, module: any Module)] { [("head", head)] }
  }

  static let features = try! Tensor.randn([12, 4], generator: try! Generator(seed: 1))
  static let actions = try! Tensor((0..<12).map { Int64($0 % 3) })

  static func recompute(_ toy: Toy) -> ([Int]) throws -> Recomputed {
    { rows in
      let index = try Tensor(rows.map(Int64.init))
      let logProbs = try toy.head(features.indexSelect(dim: 0, index: index)).logSoftmax(dim: -1)
      let chosen = try logProbs.gather(dim: 1, index: actions.indexSelect(dim: 0, index: index).unsqueeze(1)).squeeze(1)
      return Recomputed(logProbs: chosen, entropy: try -(logProbs.exp() * logProbs).sum(dims: [1]), values: nil)
    }
  }

  static func samples(_ toy: Toy, advantages: Tensor) throws -> PPOSamples {
    let old = try Autograd.withNoGrad { try recompute(toy)(Array(0..<12)).logProbs }
    return PPOSamples(oldLogProbs: old, advantages: advantages, mask: try Tensor.ones([12], dtype: .bool))
  }

  /// Samples go to the policy's device whole, the optional parts included.
  @Test func samplesMoveToThePolicyDevice() throws {
    var samples = try Self.samples(Toy(), advantages: Tensor.ones([12]))
    samples.returns = try Tensor.zeros([12, 1])
    samples.lengths = try Tensor.ones([12])
    let moved = try samples.to(device: .meta)
    #expect([moved.oldLogProbs, moved.advantages, moved.mask, moved.returns!, moved.lengths!].allSatisfy { $0.device == .meta })
    #expect(moved.oldValues == nil && moved.entropyMask == nil)
    #expect(moved.count == 12 && moved.returns!.shape == [12, 1])
  }

  /// Accumulating 4 micro-batches of 3 gives the update of one batch of 12.
  @Test func gradientAccumulationMatchesOneBatch() throws {
    let advantages = try Tensor.randn([12], generator: Generator(seed: 2))
    func train(micro: Int) throws -> [Float] {
      let toy = Toy()
      var config = PPOUpdateConfig()
      config.globalBatchSize = 12
      config.microBatchSize = micro
      config.clipGrad = 100
      let optimizer = try AdamW(module: toy, lr: 0.1, weightDecay: 0)
      let metrics = try PPOUpdate.run(try Self.samples(toy, advantages: advantages), config: config, optimizer: optimizer, shuffleSeed: 3, recompute: Self.recompute(toy))
      #expect(metrics.steps == 1 && metrics.skippedSteps == 0)
      #expect(Swift.abs(metrics.values["train/actor/ratio"]! - 1) < 1e-6, "first step: the policy is the rollout policy")
      return try toy.head.weight.floats()
    }
    let whole = try train(micro: 12), accumulated = try train(micro: 3)
    #expect(zip(whole, accumulated).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
  }

  /// A non-finite loss skips the step, counts it and leaves the weights alone.
  @Test func nonFiniteStepsAreSkipped() throws {
    let toy = Toy()
    let before = try toy.head.weight.floats()
    var advantages = [Float](repeating: 1, count: 12)
    advantages[5] = .nan
    var config = PPOUpdateConfig()
    config.globalBatchSize = 6
    config.microBatchSize = 6
    config.updateEpochs = 2
    let optimizer = try AdamW(module: toy, lr: 0.1, weightDecay: 0)
    let metrics = try PPOUpdate.run(try Self.samples(toy, advantages: Tensor(advantages)), config: config, optimizer: optimizer, shuffleSeed: 1, recompute: Self.recompute(toy))
    #expect(metrics.steps == 4)
    #expect(metrics.skippedSteps == 2, "the minibatch holding sample 5 fails in both epochs")
    #expect(try toy.head.weight.floats().allSatisfy(\.isFinite))
    #expect(try toy.head.weight.floats() != before, "the clean minibatches still trained")
  }

  /// The critic loss counts only the samples the mask keeps (RLinf masks it as the policy
  /// loss): masked samples with absurd returns leave it at the valid samples' Huber loss.
  @Test func criticLossIgnoresMaskedSamples() throws {
    let toy = Toy()
    var samples = try Self.samples(toy, advantages: Tensor.ones([12]))
    samples.mask = try Tensor((0..<12).map { Float($0 < 6 ? 1 : 0) }).to(dtype: .bool)
    samples.returns = try Tensor((0..<12).map { Float($0 < 6 ? 1 : 100) })  // valid: 1, masked: 100
    samples.oldValues = try Tensor.zeros([12])
    var config = PPOUpdateConfig()
    config.globalBatchSize = 12
    config.microBatchSize = 12
    config.valueClip = 1000
    config.huberDelta = 10
    let policy = Self.recompute(toy)
    let optimizer = try AdamW(module: toy, lr: 0.1, weightDecay: 0)
    let metrics = try PPOUpdate.run(samples, config: config, optimizer: optimizer, shuffleSeed: 1) { rows in
      let fresh = try policy(rows)
      return Recomputed(logProbs: fresh.logProbs, entropy: fresh.entropy, values: try Tensor.zeros([rows.count]))
    }
    // Values 0 against returns 1: Huber 0.5 * 1^2 per valid sample. With the masked ones it
    // would be (6 * 0.5 + 6 * 10 * (100 - 5)) / 12 = 475.25.
    #expect(Swift.abs(metrics.values["train/critic/value_loss"]! - 0.5) < 1e-6)
  }

  @Test func badBatchSizesAreRejected() throws {
    let toy = Toy()
    var config = PPOUpdateConfig()
    config.globalBatchSize = 8
    config.microBatchSize = 3
    let optimizer = try AdamW(module: toy, lr: 0.1)
    #expect(throws: TorchError.self) {
      try PPOUpdate.run(try Self.samples(toy, advantages: Tensor.ones([12])), config: config, optimizer: optimizer, shuffleSeed: 1, recompute: Self.recompute(toy))
    }
  }

  /// With fewer samples than a global batch (GRPO windows whose masked steps were dropped), each
  /// epoch is one step over all of them: the same update as a global batch of exactly that size.
  @Test func fewerSamplesThanABatchTrainOnAll() throws {
    let advantages = try Tensor.randn([12], generator: Generator(seed: 4))
    func train(global: Int, micro: Int) throws -> [Float] {
      let toy = Toy()
      var config = PPOUpdateConfig()
      config.globalBatchSize = global
      config.microBatchSize = micro
      config.updateEpochs = 2
      config.clipGrad = 100
      let optimizer = try AdamW(module: toy, lr: 0.1, weightDecay: 0)
      let metrics = try PPOUpdate.run(try Self.samples(toy, advantages: advantages), config: config, optimizer: optimizer, shuffleSeed: 3, recompute: Self.recompute(toy))
      #expect(metrics.steps == 2)
      return try toy.head.weight.floats()
    }
    let larger = try train(global: 16, micro: 4), exact = try train(global: 12, micro: 12)
    #expect(zip(larger, exact).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
  }
}
