import Checkpoints
import Config
import Dispatch
import Foundation
import Metrics
import Models
import RL
import Sim
import Torch

/// One RL training job from a config: the policy (from `actor.model.model_path` or the tiny
/// configuration), the training environments, and the loop of iterations: rollout windows,
/// advantages, update, and now and then evaluation and a checkpoint. Metrics go to
/// `<log_path>/<experiment_name>/metrics.jsonl` (one JSON object per iteration) and to
/// TensorBoard event files in `.../tensorboard`; checkpoints to `.../checkpoints` (written in the
/// background, atomically; a run created with `resume` continues from the newest complete one).
public final class RLRun {
  /// The config (live-tunable keys change it, see `set(_:to:)`).
  public private(set) var config: TrainingConfig
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
  public let checkpoints: CheckpointStore
  private let checkpointWriter: CheckpointWriter
  /// The checkpoint this run resumed from (nil: a fresh start).
  public let resumedFrom: CheckpointStore.Entry?
  private var windows: [RolloutBuffer]
  private var sinks: [any MetricsSink]
  /// Worker failures already reported.
  private var reportedWorkerFailures = 0
  /// The iteration of the last checkpoint handed to the writer.
  private var savedIteration: Int?
  /// Iterations done so far.
  public private(set) var iteration = 0
  /// Environment steps taken so far in training.
  public private(set) var environmentSteps = 0

  /// The YAML the job was started from (saved in every checkpoint as job.yaml), if known.
  public let configText: String?
  /// Live changes applied so far, in order (appended to job.yaml in checkpoints).
  public private(set) var liveChanges: [(key: String, value: String)] = []

  /// `onCheckpoint` hears about every background checkpoint write (its step and path or error);
  /// failures leave the previous checkpoints valid and training goes on.
  public init(
    config: TrainingConfig, resume: Bool = false, configText: String? = nil,
    onCheckpoint: @escaping @Sendable (Int, Result<String, any Error>) -> Void = RLRun.reportCheckpoint
  ) throws {
    self.config = config
    self.configText = configText
    directory = config.runner.logPath + "/" + config.runner.experimentName
    checkpoints = try CheckpointStore(root: directory + "/checkpoints", keepLast: config.runner.keepLastCheckpoints)
    resumedFrom = resume ? checkpoints.latest() : nil
    placement = try Placement(config: config)
    actorThread = try StageThread(name: "rlinf-actor", resources: placement.actor)
    TorchRuntime.manualSeed(UInt64(config.actor.seed))
    var model = config
    if let resumedFrom { model.actor.model.modelPath = resumedFrom.path }
    policy = try Self.makePolicy(model)
    // Built and loaded on the CPU (the same weights on any device), then placed.
    try policy.move(to: placement.actor.torchDevice)
    trainer = try PolicyTrainer(policy: policy, config: config)
    weightSync = try WeightSync(actor: policy, device: placement.rollout.torchDevice)
    collector = try RolloutCollector(config: config, policy: policy, placement: placement)
    windows = [collector.buffer]
    for _ in 1..<config.algorithm.rolloutEpoch { windows.append(try collector.makeBuffer()) }
    checkpointWriter = CheckpointWriter(store: checkpoints, onResult: onCheckpoint)
    sinks = [try JSONLinesSink(path: directory + "/metrics.jsonl"), try TensorBoardSink(directory: directory + "/tensorboard")]
    if let resumedFrom { try RLCheckpoint.restore(self, from: resumedFrom.path) }
  }

  deinit {
    checkpointWriter.stop()
    actorThread.stop()
  }

  /// The default checkpoint report: failures to standard error.
  public static let reportCheckpoint: @Sendable (Int, Result<String, any Error>) -> Void = { step, result in
    if case .failure(let error) = result { FileHandle.standardError.write(Data("checkpoint of step \(step) failed: \(error)\n".utf8)) }
  }

  /// Puts the counters of a checkpoint back (see RLCheckpoint).
  func restore(_ state: RLCheckpoint.RunState) {
    iteration = state.iteration
    environmentSteps = state.environmentSteps
    collector.windowsCollected = state.windowsCollected
    trainer.updates = state.trainerUpdates
    weightSync.version = state.weightVersion
  }

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
      let balanced = policy.config.vision.allSatisfy { $0.whiteBalance == true }
      guard balanced == m.whiteBalance else {
        throw ConfigError("actor.model.white_balance", "is \(m.whiteBalance) but the checkpoint at \(path) \(balanced ? "white-balances" : "does not white-balance") its images")
      }
    } else {
      let tokenizer = try TinyTokenizer.load()
      var vla = m.tinyVLAConfig(textVocabulary: tokenizer.vocabularySize)
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
    let failures = collector.workerFailures
    if !failures.isEmpty {
      metrics["env/worker_restarts"] = Double(failures.count)
      for report in failures.dropFirst(reportedWorkerFailures) {
        FileHandle.standardError.write(Data("simulator worker replaced; its in-flight episodes were discarded: \(report)\n".utf8))
      }
      reportedWorkerFailures = failures.count
    }
    let r = config.runner
    if r.valCheckInterval > 0 && iteration % r.valCheckInterval == 0 {
      let eval = config.env.eval
      let video = try videoPath(split: eval.split)
      metrics.merge(try actorThread.run { try self.evaluate(eval, video: video) }.metrics(prefix: "eval")) { $1 }
      metrics["time/eval"] = clock.lap()
    }
    if r.saveInterval > 0 && iteration % r.saveInterval == 0 {
      metrics["time/checkpoint_snapshot"] = try saveCheckpoint(evalSuccess: metrics["eval/success_once"])
    }
    try record(metrics)
    return metrics
  }

  /// Runs `runner.max_epochs` iterations (forever with -1), calling `progress` after each, then
  /// writes a final checkpoint and waits for the writes to finish.
  public func run(progress: (Int, [String: Double]) -> Void) throws {
    while config.runner.maxEpochs < 0 || iteration < config.runner.maxEpochs {
      let metrics = try step()
      progress(iteration, metrics)
    }
    try finish()
  }

  /// The end of a run: a checkpoint of the current iteration unless one was taken, and every
  /// checkpoint write finished.
  public func finish() throws {
    if savedIteration != iteration { try saveCheckpoint() }
    waitForCheckpoints()
  }

  /// Changes a live-tunable key (see `TrainingConfig.liveKeys`); takes effect from the next
  /// iteration. Call between iterations.
  public func set(_ key: String, to value: String) throws {
    let changed = try config.settingLive(key, to: value)
    config = changed
    trainer.apply(changed)
    liveChanges.append((key, value))
  }

  /// Snapshots the run and hands it to the background writer; returns the seconds the snapshot
  /// took (all that training waits for).
  @discardableResult
  public func saveCheckpoint(evalSuccess: Double? = nil) throws -> Double {
    var clock = Clock()
    checkpointWriter.submit(try RLCheckpoint.snapshot(self, evalSuccess: evalSuccess))
    savedIteration = iteration
    return clock.lap()
  }

  /// Blocks until every checkpoint handed to the writer is on disk (or failed).
  public func waitForCheckpoints() { checkpointWriter.waitUntilIdle() }

  public func checkpointPath(_ step: Int) -> String { checkpoints.root + "/" + CheckpointStore.directoryName(step: step) }

  /// Closed-loop evaluation on an env section's tasks and split (one episode per env), sampling
  /// at `temperature_eval` (greedy at 0). With `video`, a GIF of the first episodes is saved there.
  public func evaluate(_ e: EnvConfig, video: String? = nil) throws -> ClosedLoopEvaluation.Result {
    let s = config.algorithm.sampling
    let sampling = s.temperatureEval == 0 ? SamplingSettings(greedy: true) : SamplingSettings(temperature: s.temperatureEval, topK: s.topK)
    if e.simulatorType != "embedded" {
      // Every task (a LIBERO suite name: each of its tasks) with total_num_envs / tasks episodes,
      // reset states 0, 1, ... (LIBERO: its fixed init states; ManiSkill: fixed seeds).
      let tasks = e.workerTasks
      let specs = tasks.map { task -> WorkerSpec in
        var spec = RolloutCollector.workerSpec(e, task: task, numEnvs: max(1, e.totalNumEnvs / tasks.count), policy: policy)
        spec.seed = UInt64(e.seed) &+ 1000
        return spec
      }
      return try ClosedLoopEvaluation.run(policy: policy, workers: specs, sampling: sampling, wristCamera: e.useWristImage, seed: UInt64(e.seed) &+ 1000)
    }
    guard let split = Split(rawValue: e.split) else { throw ConfigError("env.eval.split", "unknown split \(e.split)") }
    let tasks = e.tasks.isEmpty ? split.defaultTasks.map(\.name) : e.tasks
    return try ClosedLoopEvaluation.run(
      policy: policy, tasks: tasks, episodesPerTask: max(1, e.totalNumEnvs / tasks.count), split: split,
      seed: UInt64(e.seed) &+ 1000, threads: e.numThreads, sampling: sampling, wristCamera: e.useWristImage, maxEpisodeSteps: e.maxEpisodeSteps,
      video: video)
  }

  /// `<run>/videos/eval_<split>_step_<N>.gif` (the folder is created).
  public func videoPath(split: String) throws -> String {
    try FileManager.default.createDirectory(atPath: directory + "/videos", withIntermediateDirectories: true)
    return directory + "/videos/eval_\(split)_step_\(iteration).gif"
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

  /// One iteration's metrics to every sink (JSON lines, TensorBoard), flushed.
  private func record(_ metrics: [String: Double]) throws {
    for sink in sinks {
      try sink.write(step: iteration, metrics: metrics)
      try sink.flush()
    }
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
  /// eval/success_once (and success_at_end) overall, success_once per task.
  public func metrics(prefix: String) -> [String: Double] {
    var out = ["\(prefix)/success_once": successRate, "\(prefix)/success_at_end": successAtEndRate]
    for (task, r) in perTask { out["\(prefix)/success_once/\(task)"] = Double(r.successes) / Double(max(r.episodes, 1)) }
    return out
  }
}
