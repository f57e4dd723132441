import Config
import Foundation
import Pipeline
import RL
import Sim
import Staging
import Testing
import Torch

/// The pipeline changes speed, never results: the same config and seeds give the same rollout
/// windows (observations, tokens, log-probs, values, rewards, dones, episodes) in every mode.
@Suite(.serialized) struct PlacementModeEquivalenceTests {
  static func config(_ mode: PlacementMode, adv: AdvantageType) -> TrainingConfig {
    var c = TrainingConfig()
    c.runner.logPath = NSTemporaryDirectory() + "rlinf-modes-\(getpid())"
    c.algorithm.advType = adv
    c.algorithm.lossType = adv == .gae ? .actorCritic : .actor
    c.algorithm.groupSize = adv == .grpo ? 2 : 1
    c.env.train.tasks = ["pick-red-cube", "push-red-cube-green-marker"]
    c.env.train.totalNumEnvs = 4
    c.env.train.maxStepsPerRolloutEpoch = 6
    c.env.train.maxEpisodeSteps = 4  // episodes end and auto-reset inside the window
    c.env.train.autoReset = adv == .gae
    c.env.train.rewardMode = .shaped
    c.actor.model.numActionChunks = 2
    c.actor.model.useProprio = true
    c.actor.model.addValueHead = adv == .gae
    c.actor.globalBatchSize = 4
    c.actor.microBatchSize = 2
    c.rollout.pipelineStageNum = 2
    c.cluster.placementMode = mode
    if mode != .collocated {
      c.cluster.components = [
        .env: ComponentPlacement(cores: [0], threads: 1), .rollout: ComponentPlacement(cores: [1], threads: 1),
        .actor: ComponentPlacement(),
      ]
    }
    return c
  }

  /// Two windows (the second continues partially reset episodes), with an update between.
  static func windows(_ mode: PlacementMode, adv: AdvantageType) throws -> (tensors: [[Double]], episodes: [EpisodeSummary]) {
    let c = config(mode, adv: adv)
    try c.validate()
    let job = try RLRun(config: c)
    var tensors: [[Double]] = []
    var episodes: [EpisodeSummary] = []
    for _ in 0..<2 {
      let b = job.collector.buffer
      episodes += try job.collector.collect(into: b, policy: job.weightSync.rolloutPolicy, sampling: job.trainer.trainSampling)
      tensors += try [b.images, b.tokens, b.logProbs, b.values, b.finalValues, b.rewards, b.dones()].map { try $0.to(dtype: .float64).doubles() }
      _ = try job.trainer.train(on: [b], autoReset: c.env.train.autoReset)
      try job.weightSync.publish(from: job.policy)
    }
    return (tensors, episodes)
  }

  @Test(.enabled(if: twoCores), arguments: [AdvantageType.gae, .grpo])
  func everyModeGivesTheCollocatedData(adv: AdvantageType) throws {
    let reference = try Self.windows(.collocated, adv: adv)
    #expect(!reference.episodes.isEmpty)
    #expect(reference.tensors[6].contains { $0 != 0 })  // episodes ended inside the windows
    for mode in [PlacementMode.disaggregated, .hybrid] {
      let other = try Self.windows(mode, adv: adv)
      #expect(other.episodes == reference.episodes, "\(mode)")
      for (i, (a, b)) in zip(other.tensors, reference.tensors).enumerated() {
        #expect(a == b, "\(mode): tensor \(i) differs")
      }
    }
  }
}
