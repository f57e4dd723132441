import Foundation
import Models
import Pipeline
import RL
import Staging
import Testing
import TestSupport
import Torch

/// Data parallelism inside the process (`WorkerPool` + `DataParallel`): the same gradients as
/// one backward pass over the whole batch, the same from run to run, and the update and SFT
/// steps built on it.
@Suite struct DataParallelTests {
  static let instructions = ["pick up the red cube", "pick up the green cube", "pick up the blue can", "pick up the red cube"]

  static func policy(seed: UInt64 = 3) throws -> VLAPolicy {
    let tokenizer = try SentencePieceTokenizer(path: repositoryRoot + "/configs/tiny-tokenizer.model")
    var config = VLAConfig.tiny(head: .oft, numActionChunks: 2, textVocabulary: tokenizer.vocabularySize, proprioDim: 8)
    config.vision[0].depth = 2
    config.llm.numHiddenLayers = 2
    return try VLAPolicy(config: config, tokenizer: tokenizer, generator: Generator(seed: seed))
  }

  /// Two workers pinned to the first two cores (or twice the only core).
  static func pool() throws -> WorkerPool {
    let cpus = Machine.current().cpus
    return try WorkerPool(
      name: "test-worker", resources: StageResources(component: .actor, cores: Array(cpus.prefix(2)), threads: min(2, cpus.count), device: "cpu", numaNode: nil))
  }

  static func batch(_ n: Int) throws -> (images: Tensor, instructions: [String], state: Tensor, tokens: Tensor) {
    let generator = try Generator(seed: 7)
    let images = try Tensor.randint(0, 256, shape: [n, 64, 64, 3], generator: generator).to(dtype: .uint8)
    let state = try Tensor.rand([n, 8], generator: generator)
    let tokens = try (Tensor.randint(0, 256, shape: [n, 2, 7], generator: generator) + 96)
    return (images, (0..<n).map { instructions[$0 % 4] }, state, tokens)
  }

  /// Sum over shards of each shard's mean log-prob loss, differentiated on two workers, equals
  /// the gradient of the whole batch's mean from one backward pass (float tolerance), and two
  /// runs give bit-identical gradients whatever the threads' timing.
  @Test func shardedGradientsEqualOneBackwardAndRepeat() throws {
    let policy = try Self.policy()
    let b = try Self.batch(8)
    let parameters = policy.parameters
    try (policy.evaluate(images: b.images, instructions: b.instructions, state: b.state, tokens: b.tokens, sampling: SamplingSettings(temperature: 1))
      .logProbs.mean() * -1).backward()
    // The value head plays no part in the log-probs: no gradient (zeros from the sharded pass).
    let reference = try parameters.map { try $0.grad?.clone() ?? $0.zerosLike() }

    let work = try Self.pool()
    #expect(work.width == min(2, Machine.current().cpus.count))
    func sharded() throws -> [Tensor] {
      policy.zeroGrad()
      let (losses, finite) = try DataParallel.gradients(of: parameters, shards: 4, work: work) { s in
        let rows = try Tensor((2 * s..<2 * s + 2).map(Int64.init))
        func pick(_ t: Tensor) throws -> Tensor { try t.indexSelect(dim: 0, index: rows) }
        let loss = try policy.evaluate(
          images: pick(b.images), instructions: Array(b.instructions[(2 * s)..<(2 * s + 2)]), state: pick(b.state), tokens: pick(b.tokens),
          sampling: SamplingSettings(temperature: 1)).logProbs.mean() * -0.25
        return (loss, s)
      }
      #expect(finite && losses == [0, 1, 2, 3], "results in shard order")
      return try parameters.map { try $0.grad!.clone() }
    }
    let first = try sharded(), second = try sharded()
    var largest = 0.0
    for (i, (a, r)) in zip(first, reference).enumerated() {
      let scale = max(try r.abs().max().item(), 1e-6)
      largest = max(largest, try (a - r).abs().max().item() / scale)
      #expect(try a.floats() == second[i].floats(), "parameter \(i) differs between two runs")
    }
    #expect(largest < 1e-4, "relative difference to one backward: \(largest)")
  }

  /// A shard whose loss is not finite reports it and leaves every gradient unset.
  @Test func nonFiniteShardLeavesGradientsAlone() throws {
    let weight = try Tensor([1.0, 2.0], shape: [2]).requiringGrad()
    let (results, finite) = try DataParallel.gradients(of: [weight], shards: 3, work: try Self.pool()) { s in
      let loss = try (weight * weight).sum() * (s == 1 ? Double.nan : 1.0)
      return (loss, s)
    }
    #expect(!finite && results == [0, 1, 2])
    #expect(weight.grad == nil)
  }

  /// The SFT step on two workers has the serial step's loss and gradient norm (the shards'
  /// means weighted by their share of the batch) and moves the weights the same way (AdamW's
  /// first step is about lr per weight: a difference of a fifth of it is rounding, where a
  /// gradient element is near zero).
  @Test func sftStepOnWorkersMatchesSerialStep() throws {
    let b = try Self.batch(6)
    var after: [[Float]] = []
    var measured: [SupervisedFineTuning.StepMetrics] = []
    for work in [SerialWork(), try Self.pool()] as [ParallelWork] {
      let policy = try Self.policy(seed: 5)
      let optimizer = try AdamW(groups: [.init(name: "policy", parameters: policy.namedParameters(), lr: 1e-3, weightDecay: 0.01)])
      let metrics = try SupervisedFineTuning.step(
        policy: policy, optimizer: optimizer, images: b.images, instructions: b.instructions, state: b.state, targetTokens: b.tokens,
        maxGradNorm: 1.0, work: work)
      #expect(metrics.loss.isFinite && metrics.loss > 0)
      measured.append(metrics)
      after.append(try policy.parameters.flatMap { try $0.floats() })
    }
    #expect(abs(measured[0].loss - measured[1].loss) < 1e-5 * measured[0].loss)
    #expect(abs(measured[0].gradNorm - measured[1].gradNorm) < 1e-4 * measured[0].gradNorm)
    let difference = zip(after[0], after[1]).map { abs($0 - $1) }.max()!
    #expect(difference < 2e-4, "largest weight difference \(difference)")
  }
}
