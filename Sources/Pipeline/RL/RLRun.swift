import Config
import Dispatch
import Foundation
import Models
import RL
import Sim
import Torch

/// One RL training job from a config: the policy (from `actor.model.model_path` or the tiny
/// configuration), the training environments, and the loop of iterations: rollout windows,
/// advantages, update, and now and then evaluation and a checkpoint. Metrics go to
/// `<log_path>/<experiment_name>/metrics.jsonl`, one JSON object per iteration.
public final class RLRun {
  public let config: TrainingConfig
  public let policy: VLAPolicy
  public let trainer: PolicyTrainer
  public let collector: RolloutCollector
  /// The stages' resources and schedule (`cluster.*`).
  public let placement: Placement
  /// The rollout stage's copy of the policy, refreshed after every update.
  public let weightSync: WeightSync
  /// Training and evaluation run here, pinned to the actor's cores.
  private let actorThread: StageThread
  public let directory: String
  private var windows: [RolloutBuffer]
  private var metricsFile: FileHandle?
  /// Iterations done so far.
  public private(set) var iteration = 0
  /// Environment steps taken so far in training.
  public private(set) var environmentSteps = 0

  public init(config: TrainingConfig) throws {
    self.config = config
    placement = try Placement(config: config)
    actorThread = try StageThread(name: "rlinf-actor", resources: placement.actor)
    TorchRuntime.manualSeed(UInt64(config.actor.seed))
    policy = try Self.makePolicy(config)
    trainer = try PolicyTrainer(policy: policy, config: config)
    weightSync = try WeightSync(actor: policy)
    collector = try RolloutCollector(config: config, policy: policy, placement: placement)
    windows = [collector.buffer]
    for _ in 1..<config.algorithm.rolloutEpoch { windows.append(try collector.makeBuffer()) }
    directory = config.runner.logPath + "/" + config.runner.experimentName
  }

  deinit { actorThread.stop() }

  /// The policy the config names, checked against the config's model keys; a value head is
  /// attached when the algorithm needs one and the checkpoint has none.
  static func makePolicy(_ config: TrainingConfig) throws -> VLAPolicy {
    let m = config.actor.model
    let policy: VLAPolicy
    if let path = m.modelPath {
      policy = try VLACheckpoint.load(from: path)
      let head: PolicyModelType = policy.config.head == .oft ? .openvlaOFT : .openvla
      guard head == m.modelType else {
        throw ConfigError("actor.model.model_type", "is \(m.modelType.rawValue) but the checkpoint at \(path) is \(head.rawValue)")
      }
      guard policy.config.numActionChunks == m.numActionChunks else {
        throw ConfigError("actor.model.num_action_chunks", "is \(m.numActionChunks) but the checkpoint at \(path) decodes \(policy.config.numActionChunks)")
      }
      guard (policy.config.proprioDim > 0) == m.useProprio else {
        throw ConfigError("actor.model.use_proprio", "is \(m.useProprio) but the checkpoint at \(path) \(policy.config.proprioDim > 0 ? "reads" : "does not read") the state")
      }
    } else {
      let tokenizer = try TinyTokenizer.load()
      var vla = VLAConfig.tiny(
        head: m.modelType == .openvlaOFT ? .oft : .openvla, numActionChunks: m.numActionChunks,
        textVocabulary: tokenizer.vocabularySize, proprioDim: m.useProprio ? TabletopEnv.stateSize : 0)
      vla.valueOutputs = 0  // attached below when the algorithm trains a critic
      policy = try VLAPolicy(config: vla, tokenizer: tokenizer, generator: Generator(seed: UInt64(config.actor.seed)))
    }
    let outputs = m.valueType == .actionLevel ? m.numActionChunks : 1
    if m.addValueHead && policy.valueHead == nil {
      _ = try policy.attachValueHead(outputs: outputs, generator: Generator(seed: UInt64(config.actor.seed) &+ 1))
    }
    if m.addValueHead && policy.config.valueOutputs != outputs {
      throw ConfigError("actor.model.value_type", "\(m.valueType.rawValue) needs \(outputs) value outputs; the checkpoint's value head has \(policy.config.valueOutputs)")
    }
    return policy
  }

  /// One iteration: rollout_epoch windows, one update; returns its metrics (RLinf's names).
  public func step() throws -> [String: Double] {
    var clock = Clock()
    var episodes: [EpisodeSummary] = []
    for window in windows {
      episodes += try collector.collect(into: window, policy: weightSync.rolloutPolicy, sampling: trainer.trainSampling)
    }
    let rolloutSeconds = clock.lap()
    let stageTimes = collector.stages.lastTimes
    let steps = windows.count * collector.buffer.steps * collector.buffer.chunk * collector.numEnvs
    environmentSteps += steps
    let (trainer, windows, autoReset) = (self.trainer, self.windows, config.env.train.autoReset)
    var metrics = try actorThread.run { try trainer.train(on: windows, autoReset: autoReset) }
    let trainSeconds = clock.lap()
    let (weightSync, policy) = (self.weightSync, self.policy)
    try actorThread.run { try weightSync.publish(from: policy) }
    metrics["time/weight_sync"] = clock.lap()
    metrics["time/env_stage"] = stageTimes.envSeconds
    metrics["time/rollout_stage"] = stageTimes.rolloutSeconds
    iteration += 1
    metrics.merge(Self.episodeMetrics(episodes, prefix: "env")) { $1 }
    metrics["time/generate_rollouts"] = rolloutSeconds
    metrics["time/actor_training"] = trainSeconds
    metrics["time/step"] = rolloutSeconds + trainSeconds
    metrics["env/steps_per_second"] = Double(steps) / rolloutSeconds
    metrics["runner/environment_steps"] = Double(environmentSteps)
    let r = config.runner
    if r.valCheckInterval > 0 && iteration % r.valCheckInterval == 0 {
      let eval = config.env.eval
      metrics.merge(try actorThread.run { try self.evaluate(eval) }.metrics(prefix: "eval")) { $1 }
      metrics["time/eval"] = clock.lap()
    }
    if r.saveInterval > 0 && iteration % r.saveInterval == 0 {
      try VLACheckpoint.save(policy, to: checkpointPath(iteration))
    }
    try record(metrics)
    return metrics
  }

  /// Runs `runner.max_epochs` iterations (forever with -1), calling `progress` after each.
  public func run(progress: (Int, [String: Double]) -> Void) throws {
    while config.runner.maxEpochs < 0 || iteration < config.runner.maxEpochs {
      let metrics = try step()
      progress(iteration, metrics)
    }
    try VLACheckpoint.save(policy, to: checkpointPath(iteration))
  }

  public func checkpointPath(_ step: Int) -> String { directory + "/checkpoints/global_step_\(step)" }

  /// Closed-loop evaluation on an env section's tasks and split (one episode per env), sampling
  /// at `temperature_eval` (greedy at 0).
  public func evaluate(_ e: EnvConfig) throws -> ClosedLoopEvaluation.Result {
    guard let split = Split(rawValue: e.split) else { throw ConfigError("env.eval.split", "unknown split \(e.split)") }
    let tasks = e.tasks.isEmpty ? split.defaultTasks.map(\.name) : e.tasks
    let s = config.algorithm.sampling
    let sampling = s.temperatureEval == 0 ? SamplingSettings(greedy: true) : SamplingSettings(temperature: s.temperatureEval, topK: s.topK)
    return try ClosedLoopEvaluation.run(
      policy: policy, tasks: tasks, episodesPerTask: max(1, e.totalNumEnvs / tasks.count), split: split,
      seed: UInt64(e.seed) &+ 1000, threads: e.numThreads, sampling: sampling, wristCamera: e.useWristImage, maxEpisodeSteps: e.maxEpisodeSteps)
  }

  /// env/* (or eval/*) metrics of finished episodes.
  static func episodeMetrics(_ episodes: [EpisodeSummary], prefix: String) -> [String: Double] {
    guard !episodes.isEmpty else { return ["\(prefix)/num_trajectories": 0] }
    let n = Double(episodes.count)
    return [
      "\(prefix)/num_trajectories": n,
      "\(prefix)/success_once": Double(episodes.filter(\.successOnce).count) / n,
      "\(prefix)/success_at_end": Double(episodes.filter(\.successAtEnd).count) / n,
      "\(prefix)/return": episodes.reduce(0) { $0 + $1.episodeReturn } / n,
      "\(prefix)/episode_len": Double(episodes.reduce(0) { $0 + $1.length }) / n,
    ]
  }

  /// Appends one JSON line: {"step": N, "metrics": {...}}.
  private func record(_ metrics: [String: Double]) throws {
    if metricsFile == nil {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
      let path = directory + "/metrics.jsonl"
      if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
      metricsFile = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
      try metricsFile?.seekToEnd()
    }
    let finite = metrics.filter { $0.value.isFinite }
    let line = try JSONSerialization.data(withJSONObject: ["step": iteration, "metrics": finite], options: [.sortedKeys, .withoutEscapingSlashes])
    try metricsFile?.write(contentsOf: line + Data("\n".utf8))
  }
}

/// Seconds between laps.
struct Clock {
  private var last = DispatchTime.now().uptimeNanoseconds
  mutating func lap() -> Double {
    let now = DispatchTime.now().uptimeNanoseconds
    defer { last = now }
    return Double(now - last) / 1e9
  }
}

extension ClosedLoopEvaluation.Result {
  /// eval/success_once overall and per task.
  public func metrics(prefix: String) -> [String: Double] {
    var out = ["\(prefix)/success_once": successRate]
    for (task, r) in perTask { out["\(prefix)/success_once/\(task)"] = Double(r.successes) / Double(max(r.episodes, 1)) }
    return out
  }
}
