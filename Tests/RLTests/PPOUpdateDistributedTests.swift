import RL
import TestSupport
import Testing
import Torch

/// PPO's update data parallel over the ranks of a process group (Gloo on loopback, a thread
/// per rank): each rank trains on its own samples, gradients are averaged over ranks.
@Suite struct PPOUpdateDistributedTests {
  typealias Toy = PPOUpdateTests.Toy

  /// Samples `rows` of the toy's 12, renumbered 0..<rows.count, and a recompute over them.
  static func shard(_ toy: Toy, rows: [Int], advantages: Tensor) throws -> (PPOSamples, ([Int]) throws -> Recomputed) {
    let all = try PPOUpdateTests.samples(toy, advantages: advantages)
    let whole = PPOUpdateTests.recompute(toy)
    return (try all.selecting(Tensor(rows.map(Int64.init))), { local in try whole(local.map { rows[$0] }) })
  }

  static func config(global: Int, micro: Int) -> PPOUpdateConfig {
    var config = PPOUpdateConfig()
    config.globalBatchSize = global
    config.microBatchSize = micro
    config.updateEpochs = 2
    config.clipGrad = 0.2  // clipping acts: the norm must be of the averaged gradient
    return config
  }

  /// Two ranks of 6 samples each, one PPO update (2 epochs, clipped AdamW steps): the weights
  /// equal those of one process trained on all 12 samples, on both ranks, and so does the
  /// gradient norm (Adam's steps do not show the gradients' scale; the norm does).
  @Test func twoRanksEqualOneProcessOnTheUnion() throws {
    let advantages = try Tensor.randn([12], generator: Generator(seed: 5))
    let single: (weights: [Float], norm: Double) = try {
      let toy = Toy()
      let (samples, recompute) = try Self.shard(toy, rows: Array(0..<12), advantages: advantages)
      let optimizer = try AdamW(module: toy, lr: 0.1, weightDecay: 0.01)
      let metrics = try PPOUpdate.run(samples, config: Self.config(global: 12, micro: 6), optimizer: optimizer, shuffleSeed: 3, recompute: recompute)
      #expect(metrics.steps == 2)
      return (try toy.head.weight.floats(), metrics.values["train/actor/grad_norm"]!)
    }()
    let port = try unusedLocalPort()
    let ranks = try onRankThreads(2) { rank -> (weights: [Float], norm: Double) in
      let group = try ProcessGroup(Rendezvous(port: port, rank: rank, worldSize: 2, timeoutSeconds: 60))
      let toy = Toy()
      let (samples, recompute) = try Self.shard(toy, rows: Array(6 * rank..<6 * rank + 6), advantages: advantages)
      let optimizer = try AdamW(module: toy, lr: 0.1, weightDecay: 0.01)
      // Each rank's shuffle differs (seed per rank); with one minibatch per epoch it cannot matter.
      let metrics = try PPOUpdate.run(
        samples, config: Self.config(global: 12, micro: 3), optimizer: optimizer, shuffleSeed: UInt64(3 + rank), group: group, recompute: recompute)
      #expect(metrics.steps == 2 && metrics.skippedSteps == 0)
      return (try toy.head.weight.floats(), metrics.values["train/actor/grad_norm"]!)
    }
    #expect(single.weights != (try Toy().head.weight.floats()), "the update moved the weights")
    #expect(single.norm > 0.2, "clipping acted")
    for rank in ranks {
      #expect(zip(single.weights, rank.weights).allSatisfy { Swift.abs($0 - $1) < 1e-6 }, "\(single.weights) vs \(rank.weights)")
      #expect(Swift.abs(rank.norm - single.norm) < 1e-5 * single.norm, "\(rank.norm) vs \(single.norm)")
    }
  }

  /// Gradient buckets started during the last micro-batch's backward (the default) and
  /// buckets started after it give the same weights to the last bit: the last backward adds
  /// its gradients onto the others' sum, the same additions in the same order.
  @Test func overlappedAveragingEqualsAveragingAfterTheBackward() throws {
    let advantages = try Tensor.randn([12], generator: Generator(seed: 8))
    func train(overlap: Bool) throws -> [[Float]] {
      let port = try unusedLocalPort()
      return try onRankThreads(2) { rank in
        let group = try ProcessGroup(Rendezvous(port: port, rank: rank, worldSize: 2, timeoutSeconds: 60))
        let toy = Toy()
        let (samples, recompute) = try Self.shard(toy, rows: Array(6 * rank..<6 * rank + 6), advantages: advantages)
        let optimizer = try AdamW(module: toy, lr: 0.1, weightDecay: 0.01)
        var config = Self.config(global: 12, micro: 2)  // 3 micro-batches per rank and step
        config.overlapGradReduce = overlap
        _ = try PPOUpdate.run(samples, config: config, optimizer: optimizer, shuffleSeed: UInt64(rank), group: group, recompute: recompute)
        return try toy.head.weight.floats()
      }
    }
    let overlapped = try train(overlap: true), after = try train(overlap: false)
    #expect(overlapped[0] == after[0] && overlapped[1] == after[1])
    #expect(overlapped[0] == overlapped[1])
    #expect(overlapped[0] != (try Toy().head.weight.floats()))
  }

  /// One update on two ranks with 8 and 4 samples (or 12 and none); rank 1's sample 8 gets
  /// advantage `poisoned` (NaN makes its loss non-finite).
  static func unequalRanks(rows: [[Int]], poisoned: Float = 1) throws -> [(metrics: PPOMetrics, weights: [Float])] {
    let port = try unusedLocalPort()
    return try onRankThreads(2) { rank in
      let group = try ProcessGroup(Rendezvous(port: port, rank: rank, worldSize: 2, timeoutSeconds: 60))
      let toy = Toy()
      var advantages = try Tensor.randn([12], generator: Generator(seed: 6)).floats()
      advantages[8] = poisoned
      let (samples, recompute) = try Self.shard(toy, rows: rows[rank], advantages: Tensor(advantages))
      let optimizer = try AdamW(module: toy, lr: 0.1, weightDecay: 0)
      let metrics = try PPOUpdate.run(
        samples, config: Self.config(global: 8, micro: 2), optimizer: optimizer, shuffleSeed: UInt64(rank), group: group, recompute: recompute)
      return (metrics, try toy.head.weight.floats())
    }
  }

  /// Ranks with different sample counts take the same number of steps (no rank waits in a
  /// collective the other never enters) and end with identical, trained weights.
  @Test func unequalRanksStayInStep() throws {
    let ranks = try Self.unequalRanks(rows: [Array(0..<8), Array(8..<12)])
    // Per rank a batch of min(8 / 2, 4) = 4, and 4 / 4 = 1 step per epoch, on both.
    #expect(ranks.allSatisfy { $0.metrics.steps == 2 && $0.metrics.skippedSteps == 0 })
    #expect(ranks[0].weights == ranks[1].weights)
    #expect(ranks[0].weights != (try Toy().head.weight.floats()))
  }

  /// A non-finite loss on one rank skips the step on every rank; a rank without samples makes
  /// every rank skip the update.
  @Test func oneRanksTroubleSkipsEveryRank() throws {
    let untouched = try Toy().head.weight.floats()
    let poisoned = try Self.unequalRanks(rows: [Array(0..<8), Array(8..<12)], poisoned: .nan)
    #expect(poisoned.allSatisfy { $0.metrics.steps == 2 && $0.metrics.skippedSteps == 2 }, "rank 1's NaN is in each of its batches")
    #expect(poisoned.allSatisfy { $0.weights == untouched })
    let empty = try Self.unequalRanks(rows: [Array(0..<12), []])
    #expect(empty.allSatisfy { $0.metrics.steps == 0 && $0.weights == untouched })
  }
}
