import Config
import Foundation
import Models
import Pipeline
import RL
import Sim
import Staging
import Testing
import TestSupport
import Torch

/// A whole RL job on the embedded simulator, small enough for CI: the collector's windows, the
/// trainer, evaluation, metrics file and checkpoints working together.
@Suite(.serialized) struct RLRunTests {
  static func config(_ adv: AdvantageType, directory: String) -> TrainingConfig {
    var c = TrainingConfig()
    c.runner.maxEpochs = 2
    c.runner.valCheckInterval = 2
    c.runner.saveInterval = 1
    c.runner.logPath = directory
    c.runner.experimentName = adv.rawValue
    c.algorithm.advType = adv
    c.algorithm.lossType = adv == .gae ? .actorCritic : .actor
    c.algorithm.groupSize = adv == .grpo ? 2 : 1
    c.env.train.tasks = ["pick-red-cube", "push-red-cube-green-marker"]
    c.env.train.totalNumEnvs = 4
    c.env.train.maxStepsPerRolloutEpoch = 8
    c.env.train.maxEpisodeSteps = 3  // episodes end inside the window
    c.env.train.autoReset = adv == .gae
    c.env.train.rewardMode = .shaped
    c.env.train.useWristImage = true
    c.env.eval.tasks = ["pick-red-cube"]
    c.env.eval.totalNumEnvs = 2
    c.env.eval.maxEpisodeSteps = 4
    c.actor.model.numActionChunks = 2
    c.actor.model.useProprio = true
    c.actor.model.addValueHead = adv == .gae
    c.actor.globalBatchSize = 8
    c.actor.microBatchSize = 4
    return c
  }

  /// `val_before_train` records the starting policy's evaluation as step 0 (with its table); every
  /// iteration reports the recent success with its episode count, whole-iteration throughput and
  /// the cores each phase kept busy; GRPO trains only on the samples its mask counts.
  @Test func baseEvaluationRecentSuccessAndBusyCores() throws {
    let dir = try temporaryDirectory("rl-run-extras")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var config = Self.config(.grpo, directory: dir)
    config.runner.valBeforeTrain = true
    config.runner.maxEpochs = 1
    try config.validate()
    let job = try RLRun(config: config)
    var seen: [Int] = []
    var last: [String: Double] = [:]
    try job.run { step, metrics in seen.append(step); last = metrics }
    #expect(seen == [0, 1])
    let lines = try String(contentsOfFile: dir + "/grpo/metrics.jsonl", encoding: .utf8).split(separator: "\n")
    let base = (try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any])
    #expect(base["step"] as? Int == 0 && (base["metrics"] as! [String: Double])["eval/success_once"] != nil)
    #expect(FileManager.default.fileExists(atPath: dir + "/grpo/eval/step_0_train.md"))
    #expect(last["env/success_recent_episodes"] == last["env/num_trajectories"], "the first iteration's episodes are all the recent ones")
    #expect(last["runner/env_steps_per_second"]! > 0 && last["runner/env_steps_per_second"]! < last["env/steps_per_second"]!)
    #expect(last["cores/generate_rollouts"]! > 0.2 && last["cores/actor_training"]! > 0.2)
    // Steps after an episode ended are not trained on: fewer samples than the window holds.
    let counted = try Advantages.firstEpisodeMask(dones: job.collector.buffer.dones()).to(dtype: .float32).sum().item()
    #expect(last["train/actor/trained_samples"] == counted || last["train/actor/skipped_empty_iterations"] == 1)
    #expect(counted < Double(job.collector.buffer.steps * job.collector.numEnvs))
  }

  @Test(arguments: [AdvantageType.gae, .grpo])
  func jobRunsAndRecords(adv: AdvantageType) throws {
    let dir = try temporaryDirectory("rl-run")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let config = Self.config(adv, directory: dir)
    try config.validate()
    let job = try RLRun(config: config, configText: "# the job's YAML\n")
    var seen: [Int] = []
    try job.run { step, _ in seen.append(step) }
    #expect(seen == [1, 2])
    #expect(job.environmentSteps == 2 * 8 * 4)

    // Partial reset bootstraps from the true final observations of episodes that ended.
    if adv == .gae { #expect(try job.collector.buffer.finalValues.abs().sum().item() > 0) }

    let lines = try String(contentsOfFile: dir + "/\(adv.rawValue)/metrics.jsonl", encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 2)
    let rows = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    let first = rows[0]["metrics"] as! [String: Double], second = rows[1]["metrics"] as! [String: Double]
    for key in ["env/num_trajectories", "rollout/rewards", "rollout/advantages_mean", "train/actor/policy_loss", "train/actor/grad_norm", "time/step"] {
      #expect(first[key] != nil, "missing \(key)")
    }
    #expect(first["env/num_trajectories"]! > 0)
    if adv == .grpo { #expect(first["env/num_trajectories"]! <= 4, "one episode per environment and window") }
    #expect((first["train/critic/value_loss"] != nil) == (adv == .gae))
    #expect((first["rollout/returns_max"] != nil) == (adv == .gae))
    #expect(first["eval/success_once"] == nil && second["eval/success_once"] != nil)
    // The checkpoint records how many episodes its evaluation had: the handover's standard error.
    #expect(try second["eval/episodes"] == 2 && job.checkpoints.verify(job.checkpointPath(2)).evalEpisodes == 2)
    #expect(FileManager.default.fileExists(atPath: dir + "/\(adv.rawValue)/videos/eval_train_step_2.gif"))
    #expect(try String(contentsOfFile: job.checkpointPath(2) + "/job.yaml", encoding: .utf8) == "# the job's YAML\n")

    // Checkpoints reload, with the critic the job trained.
    let saved = try VLACheckpoint.load(from: job.checkpointPath(2))
    #expect((saved.valueHead != nil) == (adv == .gae))
    let trained = job.policy.namedParameters().first { $0.name == "language_model.lm_head.weight" }!.tensor
    let reloaded = saved.namedParameters().first { $0.name == "language_model.lm_head.weight" }!.tensor
    #expect(try (trained - reloaded).abs().max().item() == 0)
  }

  /// A run resumed from its checkpoint continues exactly where it stopped: three iterations in
  /// one go and two, a checkpoint, a new run that resumes, and one more give the same weights,
  /// optimizer state, counters and metrics files (GRPO starts every window from reset states, so
  /// no episode is in flight at a checkpoint).
  @Test func resumedRunContinuesExactly() throws {
    let dir = try temporaryDirectory("rl-resume")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var config = Self.config(.grpo, directory: dir)
    config.runner.maxEpochs = 3
    config.runner.valCheckInterval = -1
    config.runner.saveInterval = 1
    config.runner.experimentName = "straight"
    let straight = try RLRun(config: config)
    try straight.run { _, _ in }

    config.runner.experimentName = "resumed"
    config.runner.maxEpochs = 2
    do {
      let first = try RLRun(config: config)
      try first.run { _, _ in }
    }
    config.runner.maxEpochs = 3
    let resumed = try RLRun(config: config, resume: true)
    #expect(resumed.resumedFrom?.step == 2)
    #expect(resumed.iteration == 2 && resumed.trainer.updates == 2)
    #expect(resumed.environmentSteps == 2 * 8 * 4)
    try resumed.run { _, _ in }
    #expect(resumed.iteration == 3)
    for ((name, a), (_, b)) in zip(straight.policy.namedParameters(), resumed.policy.namedParameters()) {
      #expect(try (a - b).abs().max().item() == 0, "\(name) differs after resuming")
    }
    // AdamW's moments, tensor for tensor, and its step counts.
    let moments = try straight.trainer.optimizer.exportState(), restored = try resumed.trainer.optimizer.exportState()
    #expect(moments.steps == restored.steps && !moments.steps.isEmpty)
    #expect(Set(moments.tensors.keys) == Set(restored.tensors.keys))
    for (name, tensor) in moments.tensors {
      #expect(try (tensor - restored.tensors[name]!).abs().max().item() == 0, "optimizer state \(name) differs after resuming")
    }
    // The metrics files: the resumed run appended its iteration, and every iteration recorded the
    // same learning and environment numbers as the straight run (times and rates aside).
    func records(_ name: String) throws -> [[String: Any]] {
      try String(contentsOfFile: dir + "/\(name)/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }
    let (expected, got) = (try records("straight"), try records("resumed"))
    #expect(got.count == 3 && expected.count == 3)
    for (a, b) in zip(expected, got) {
      #expect(a["step"] as? Int == b["step"] as? Int)
      let (x, y) = (a["metrics"] as! [String: Double], b["metrics"] as! [String: Double])
      let compared = x.keys.filter { $0.hasPrefix("train/") || $0.hasPrefix("rollout/") }
      #expect(compared.count > 10)
      for key in compared where !key.contains("time") {
        #expect(x[key] == y[key], "\(key) at step \(a["step"] ?? "?"): \(x[key] ?? .nan) straight, \(y[key] ?? .nan) resumed")
      }
    }
    #expect(resumed.checkpoints.list().map(\.step) == [1, 2, 3])
  }

  /// A checkpoint that does not fit the config's model keys is refused, naming the key.
  @Test func checkpointMismatchNamesTheKey() throws {
    let dir = try temporaryDirectory("rl-mismatch")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var config = Self.config(.gae, directory: dir)
    let job = try RLRun(config: config)
    try VLACheckpoint.save(job.policy, to: dir + "/base")
    config.actor.model.modelPath = dir + "/base"
    config.actor.model.useProprio = false
    #expect(throws: ConfigError("actor.model.use_proprio", "is false but the checkpoint at \(dir)/base reads the state")) {
      try RLRun(config: config)
    }
    config.actor.model.useProprio = true
    config.actor.model.whiteBalance = true
    #expect(throws: ConfigError("actor.model.white_balance", "is true but the checkpoint at \(dir)/base does not white-balance its images")) {
      try RLRun(config: config)
    }
    config.actor.model.whiteBalance = false
    config.actor.model.numActionChunks = 1
    config.env.train.maxStepsPerRolloutEpoch = 8
    #expect(throws: ConfigError.self) { try RLRun(config: config) }
    config.env.train.tasks = ["pick-the-moon"]
    config.actor.model.numActionChunks = 2
    do {
      _ = try RLRun(config: config)
      Issue.record("an unknown task was accepted")
    } catch let error as ConfigError {
      #expect(error.key == "env.tasks" && error.problem.contains("pick-the-moon"))
    }
  }
}

/// The small job both CartPole runs share: 4 environments in 2 sub-batches on the hybrid
/// pipeline (env on core 0, rollout on core 1), 8-step windows, chunks of 2.
func twoSubBatchesOfCartPole(_ c: inout TrainingConfig) {
  c.env.train.totalNumEnvs = 4
  c.env.train.maxStepsPerRolloutEpoch = 8
  c.actor.model.numActionChunks = 2
  c.actor.globalBatchSize = 8
  c.actor.microBatchSize = 4
  c.rollout.pipelineStageNum = 2
  c.cluster.placementMode = .hybrid
  c.cluster.components = [
    .env: ComponentPlacement(cores: [0], threads: 1), .rollout: ComponentPlacement(cores: [1], threads: 1), .actor: ComponentPlacement(),
  ]
}

/// The same RL job code on a Python worker benchmark: gymnasium's CartPole through the worker
/// bridge, two sub-batches (two workers) on the hybrid pipeline, PPO updates and an evaluation.
@Suite struct WorkerRLRunTests {
  @Test(.enabled(if: twoCores)) func ppoRunsOnWorkerEnvironments() throws {
    let dir = try temporaryDirectory("rl-worker")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var c = TrainingConfig()
    c.runner.maxEpochs = 2
    c.runner.valCheckInterval = 2
    c.runner.logPath = dir
    for section in [\EnvConfigs.train, \EnvConfigs.eval] {
      c.env[keyPath: section].simulatorType = "gym"
      c.env[keyPath: section].tasks = ["CartPole-v1"]
      c.env[keyPath: section].worker.python = try referencePython()
      c.env[keyPath: section].worker.options = ["max_episode_steps": "6"]
    }
    c.env.eval.totalNumEnvs = 2
    twoSubBatchesOfCartPole(&c)
    try c.validate()
    setenv("SDL_VIDEODRIVER", "dummy", 1)
    let job = try RLRun(config: c)
    var last: [String: Double] = [:]
    try job.run { _, metrics in last = metrics }
    #expect(job.environmentSteps == 2 * 8 * 4)
    #expect(last["env/num_trajectories"]! >= 4)  // 6-step episodes end inside 8-step windows
    #expect(last["env/return"]! > 0)
    #expect(last["eval/success_once"] != nil && last["train/critic/value_loss"] != nil)
    #expect(job.collector.workerFailures.isEmpty)
  }
}

/// RL online on robots over TCP (`simulator_type: remote`): two robot-side servers
/// (tools/robot_env.py, gymnasium's CartPole standing in for the arms), one per env sub-batch on
/// the hybrid pipeline; an operator's success signal reaches the rollout and the metrics.
@Suite struct RemoteRLRunTests {
  @Test(.enabled(if: twoCores)) func ppoTrainsOnRemoteRobots() throws {
    let dir = try temporaryDirectory("rl-remote")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let signals = dir + "/signals"
    try "0 success\n".write(toFile: signals, atomically: true, encoding: .utf8)
    let robots = [try RobotProcess(arguments: ["--operator-file", signals]), try RobotProcess()]
    var c = TrainingConfig()
    c.runner.maxEpochs = 2
    c.runner.logPath = dir
    c.env.train.simulatorType = "remote"
    c.env.train.tasks = ["CartPole-v1"]
    c.env.train.worker.addresses = robots.map(\.address)
    c.env.train.worker.options = ["max_episode_steps": "6"]
    twoSubBatchesOfCartPole(&c)
    try c.validate()
    let job = try RLRun(config: c)
    var all: [[String: Double]] = []
    try job.run { _, metrics in all.append(metrics) }
    #expect(job.environmentSteps == 2 * 8 * 4)
    #expect(all.last?["env/num_trajectories"] ?? 0 >= 4 && all.last?["train/critic/value_loss"] != nil)
    // Robot 0's operator marked its environment 0 a success at its first step.
    #expect(all.contains { ($0["env/operator_success"] ?? 0) > 0 })
    #expect(all.last?["env/operator_paused_seconds"] == 0)  // nobody paused
    #expect(job.collector.workerFailures.isEmpty)
  }
}
