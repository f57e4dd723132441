import Config
import Foundation
import Pipeline
import Staging
import Testing

/// `cluster.placement_mode: auto`: the candidates it measures, the checks on it, and a run that
/// keeps its choice across a resume.
@Suite(.serialized) struct AutoPlacementTests {
  static func config(envs: Int = 4, grpoGroup: Int? = nil) -> TrainingConfig {
    var c = TrainingConfig()
    c.runner.logPath = NSTemporaryDirectory() + "rlinf-auto-\(getpid())"
    c.runner.experimentName = "auto-\(UUID().uuidString)"
    if let grpoGroup {
      c.algorithm.advType = .grpo
      c.algorithm.lossType = .actor
      c.algorithm.groupSize = grpoGroup
      c.env.train.autoReset = false
    }
    c.env.train.tasks = ["pick-red-cube"]
    c.env.train.totalNumEnvs = envs
    c.env.train.maxStepsPerRolloutEpoch = 4
    c.actor.model.numActionChunks = 2
    c.actor.model.addValueHead = grpoGroup == nil
    c.actor.globalBatchSize = 4
    c.actor.microBatchSize = 2
    c.cluster.placementMode = .auto
    return c
  }

  @Test func candidatesSplitAnEightCoreMachineEveryWay() throws {
    let machine = Machine(cpus: Array(0..<8), numaNodes: 0, cudaDevices: 0)
    let candidates = AutoPlacement.candidates(Self.config(envs: 16), machine: machine)
    // Collocated with S = 1, 2; env on 1, 2, 4, 6 or 7 cores, each disaggregated and S = 2, 4.
    #expect(candidates.count == 2 + 5 * 3)
    #expect(candidates.filter { $0.config.placementMode == .collocated }.map(\.config.rollout.pipelineStageNum) == [1, 2])
    var envCoreCounts: Set<Int> = []
    for (label, c) in candidates where c.placementMode != .collocated {
      let env = try #require(c.cluster.placement(of: .env).cores), rollout = try #require(c.cluster.placement(of: .rollout).cores)
      #expect(Set(env).isDisjoint(with: rollout), "\(label)")
      #expect((env + rollout).sorted() == Array(0..<8), "\(label) leaves cores idle")
      #expect(c.cluster.placement(of: .env).threads == env.count && c.cluster.placement(of: .rollout).threads == rollout.count, "\(label)")
      #expect(c.placementMode == (c.rollout.pipelineStageNum == 1 ? .disaggregated : .hybrid), "\(label)")
      envCoreCounts.insert(env.count)
    }
    #expect(envCoreCounts == [1, 2, 4, 6, 7])
  }

  @Test func candidatesNeverCutAGRPOGroup() {
    let machine = Machine(cpus: [0, 1], numaNodes: 0, cudaDevices: 0)
    // 8 environments in groups of 4: two sub-batches hold whole groups, four would not.
    let candidates = AutoPlacement.candidates(Self.config(envs: 8, grpoGroup: 4), machine: machine)
    #expect(candidates.map(\.config.rollout.pipelineStageNum).sorted() == [1, 1, 2, 2])
  }

  @Test func autoIsCheckedAndNeverPlacedAsIs() throws {
    var ranks = Self.config()
    ranks.cluster.worldSize = 2
    do {
      try ranks.validate()
      Issue.record("auto with two ranks passed validation")
    } catch let e as ConfigError { #expect(e.key == "cluster.placement_mode") }
    var placedByHand = Self.config()
    placedByHand.cluster.components[.env] = ComponentPlacement(cores: [0])
    do {
      try placedByHand.validate()
      Issue.record("auto with env placed by hand passed validation")
    } catch let e as ConfigError { #expect(e.key == "cluster.component_placement") }
    var workers = Self.config()
    workers.env.train.simulatorType = "maniskill"
    workers.env.train.tasks = ["PickCube-v1"]
    do {
      try workers.validate()
      Issue.record("auto on ManiSkill workers passed validation")
    } catch let e as ConfigError { #expect(e.key == "cluster.placement_mode") }
    #expect(throws: ConfigError.self) { _ = try Placement(config: Self.config()) }
  }

  @Test(.enabled(if: twoCores)) func aRunKeepsTheFastestMeasuredPlacementAcrossAResume() throws {
    let c = Self.config()
    try c.validate()
    var lines: [String] = []
    let choice = try AutoPlacement.choose(c, windows: 1) { lines.append($0) }
    let candidates = AutoPlacement.candidates(c)
    #expect(choice.trials.map(\.label) == candidates.map(\.label))
    #expect(lines.count == candidates.count, "one progress line per trial")
    #expect(choice.trials.allSatisfy { $0.envStepsPerSecond > 0 })
    let fastest = choice.trials.map(\.envStepsPerSecond).max()!
    #expect(choice.chosen.envStepsPerSecond == fastest)
    #expect(choice.config.placementMode != .auto)
    #expect(choice.report.last!.hasPrefix("chose \(choice.chosen.label)"))
    _ = try Placement(config: choice.config)

    // A run measures, records its choice and runs it.
    let directory = c.runner.logPath + "/" + c.runner.experimentName
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let first = try RLRun(config: c, progress: { _ in })
    #expect(first.placement.mode != .auto)
    #expect(first.placementReport.contains { $0.hasPrefix("chose ") })
    let recordPath = directory + "/auto_placement.json"
    var record = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: recordPath))) as? [String: Any])
    #expect(record["placementMode"] as? String == first.placement.mode.rawValue)
    #expect(record["pipelineStageNum"] as? Int == first.placement.subBatches)

    // A resume places as recorded, without measuring: a record edited to collocated, S = 1 wins.
    record["label"] = "collocated by hand"
    record["placementMode"] = "collocated"
    record["pipelineStageNum"] = 1
    record["env"] = ["device": "cpu", "threads": 1]
    record["rollout"] = ["device": "cpu", "threads": 2]
    try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: recordPath))
    var measured = false
    let resumed = try RLRun(config: c, resume: true, progress: { _ in measured = true })
    #expect(!measured)
    #expect(resumed.placement.mode == .collocated && resumed.placement.subBatches == 1)
    #expect(resumed.placement.env.threads == 1 && resumed.placement.rollout.threads == 2)
    #expect(resumed.placementReport == ["kept the placement chosen when the run started (\(recordPath)): collocated by hand"])

    // A damaged record is an error naming it, not a silent re-measurement.
    try Data("{".utf8).write(to: URL(fileURLWithPath: recordPath))
    do {
      _ = try RLRun(config: c, resume: true, progress: { _ in })
      Issue.record("a damaged record was accepted")
    } catch let e as ConfigError {
      #expect(e.description.contains(recordPath))
    }
  }
}
