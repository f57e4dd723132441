import Checkpoints
import Config
import Dispatch
import Foundation
import Metrics
import Models
import RL
import Sim
import Staging
import Torch

/// One RL training job from a config: the policy (from `actor.model.model_path` or the tiny
/// configuration), the training environments, and the loop of iterations: rollout windows,
/// advantages, update, and now and then evaluation and a checkpoint. Metrics go to
/// `<log_path>/<experiment_name>/metrics.jsonl` (one JSON object per iteration) and to
/// TensorBoard event files in `.../tensorboard`; checkpoints to `.../checkpoints` (written in the
/// background, atomically; a run created with `resume` continues from the newest complete one).
///
/// With `cluster.world_size` > 1 the run is one rank of a data-parallel job: it joins the
/// ranks' process group, simulates its share of the environments (`TrainingConfig.rankShare`),
/// starts from rank 0's weights, averages gradients with the others in every update, and rank
/// 0 alone writes the metrics (reduced over ranks), evaluations and checkpoints.
public final class RLRun {
  /// The whole job's config (live-tunable keys change it, see `set(_:to:)`).
  public private(set) var config: TrainingConfig
  /// The data-parallel ranks (nil: a job of one process).
  public let group: ProcessGroup?
  /// Whether this process writes the job's files (metrics, evaluations, checkpoints).
  public var isLeader: Bool { (group?.rank ?? 0) == 0 }
  public let policy: VLAPolicy
  public let trainer: PolicyTrainer
  public let collector: RolloutCollector
  /// The stages' resources and schedule (`cluster.*`).
  public let placement: Placement
  /// With `placement_mode: auto`: what was measured and why the placement was chosen.
  public let placementReport: [String]
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
  /// Success of the last `recentEpisodeCount` training episodes that ended, oldest first: how
  /// good the policy is now (one window's finished episodes over-represent short successes).
  public private(set) var recentEpisodes: [Bool] = []
  public static let recentEpisodeCount = 100

  /// The YAML the job was started from (saved in every checkpoint as job.yaml), if known.
  public let configText: String?
  /// The last iteration's metrics of each rank, in rank order, before they were reduced into
  /// one record (empty in a single-process job).
  public private(set) var rankMetrics: [[String: Double]] = []
  /// Live changes applied so far, in order (appended to job.yaml in checkpoints).
  public private(set) var liveChanges: [(key: String, value: String)] = []

  /// `onCheckpoint` hears about every background checkpoint write (its step and path or error);
  /// failures leave the previous checkpoints valid and training goes on.
  public init(
    config requested: TrainingConfig, resume: Bool = false, configText: String? = nil,
    progress: (String) -> Void = RLRun.reportProgress,
    onCheckpoint: @escaping @Sendable (Int, Result<String, any Error>) -> Void = RLRun.reportCheckpoint
  ) throws {
    // `placement_mode: auto` becomes the measured (or, on resume, the recorded) placement.
    directory = requested.runner.logPath + "/" + requested.runner.experimentName
    let (placed, placementReport) = try AutoPlacement.resolve(requested, directory: directory, resume: resume, progress: progress)
    self.placementReport = placementReport
    self.config = placed
    self.configText = configText
    group = placed.cluster.worldSize > 1 ? try ProcessGroup(try Rendezvous(cluster: placed.cluster)) : nil
    let config = placed.rankShare  // what this rank runs
    checkpoints = try CheckpointStore(root: directory + "/checkpoints", keepLast: config.runner.keepLastCheckpoints)
    resumedFrom = resume ? checkpoints.latest() : nil
    placement = try Placement(config: config)
    actorThread = try StageThread(name: "rlinf-actor", resources: placement.actor)
    TorchRuntime.manualSeed(UInt64(config.actor.seed))
    var model = config
    if let resumedFrom { model.actor.model.modelPath = resumedFrom.path }
    policy = try Self.makePolicy(model)
    policy.computeInBFloat16 = config.actor.model.precision.usesBFloat16(on: placement.actor.torchDevice)
    if let group {
      // Every rank starts from rank 0's weights (a fresh tiny policy is seeded per rank).
      for (name, p) in policy.namedParameters() { try group.broadcast(p, from: 0, "broadcast of \(name)") }
    }
    // Built and loaded on the CPU (the same weights on any device), then placed.
    try policy.move(to: placement.actor.torchDevice)
    trainer = try PolicyTrainer(policy: policy, config: config)
    trainer.group = group
    trainer.work = try WorkerPool.forStage("rlinf-actor-worker", placement.actor)
    weightSync = try WeightSync(actor: policy, device: placement.rollout.torchDevice)
    weightSync.rolloutPolicy.computeInBFloat16 = policy.computeInBFloat16
    collector = try RolloutCollector(config: config, policy: policy, placement: placement)
    windows = [collector.buffer]
    for _ in 1..<config.algorithm.rolloutEpoch { windows.append(try collector.makeBuffer()) }
    checkpointWriter = CheckpointWriter(store: checkpoints, onResult: onCheckpoint)
    let leader = (group?.rank ?? 0) == 0  // isLeader, before self is complete
    sinks = leader ? [try JSONLinesSink(path: directory + "/metrics.jsonl"), try TensorBoardSink(directory: directory + "/tensorboard")] : []
    if let resumedFrom { try RLCheckpoint.restore(self, from: resumedFrom.path) }
  }

  deinit {
    checkpointWriter.stop()
    actorThread.stop()
  }

  /// The default progress report of long set-up work (automatic placement): standard error.
  public static let reportProgress: @Sendable (String) -> Void = { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }

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
      guard policy.config.film == m.useFilm else {
        throw ConfigError("actor.model.use_film", "is \(m.useFilm) but the checkpoint at \(path) \(policy.config.film ? "conditions" : "does not condition") its vision encoder on the instruction (FiLM)")
      }
      guard policy.config.patchPool == m.patchPool else {
        throw ConfigError("actor.model.patch_pool", "is \(m.patchPool) but the checkpoint at \(path) pools its patch grid by \(policy.config.patchPool)")
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
    var metrics: [String: Double] = ["cores/generate_rollouts": clock.cores]
    let stageTimes = collector.stages.lastTimes
    let steps = windows.count * collector.buffer.steps * collector.buffer.chunk * collector.numEnvs
    environmentSteps += steps
    let (trainer, windows, autoReset) = (self.trainer, self.windows, config.env.train.autoReset)
    metrics.merge(try actorThread.run { try trainer.train(on: windows, autoReset: autoReset) }) { $1 }
    let trainSeconds = clock.lap()
    metrics["cores/actor_training"] = clock.cores
    let (weightSync, policy) = (self.weightSync, self.policy)
    try actorThread.run { try weightSync.publish(from: policy) }
    metrics["time/weight_sync"] = clock.lap()
    metrics["time/env_stage"] = stageTimes.envSeconds
    metrics["time/rollout_stage"] = stageTimes.rolloutSeconds
    iteration += 1
    metrics.merge(Self.episodeMetrics(episodes, prefix: "env")) { $1 }
    recentEpisodes = Array((recentEpisodes + episodes.map(\.successOnce)).suffix(Self.recentEpisodeCount))
    if !recentEpisodes.isEmpty {
      metrics["env/success_recent"] = Double(recentEpisodes.filter { $0 }.count) / Double(recentEpisodes.count)
      metrics["env/success_recent_episodes"] = Double(recentEpisodes.count)
    }
    metrics["time/generate_rollouts"] = rolloutSeconds
    metrics["time/actor_training"] = trainSeconds
    metrics["time/step"] = rolloutSeconds + trainSeconds + metrics["time/weight_sync"]!
    metrics["env/steps_per_second"] = Double(steps) / rolloutSeconds
    // Whole iterations (rollout, advantages and update, weight sync), what a run's length follows.
    metrics["runner/env_steps_per_second"] = Double(steps) / metrics["time/step"]!
    metrics["runner/environment_steps"] = Double(environmentSteps)
    let failures = collector.workerFailures
    if !failures.isEmpty {
      metrics["env/worker_restarts"] = Double(failures.count)
      for report in failures.dropFirst(reportedWorkerFailures) {
        FileHandle.standardError.write(Data("simulator worker replaced; its in-flight episodes were discarded: \(report)\n".utf8))
      }
      reportedWorkerFailures = failures.count
    }
    if let paused = collector.robotPausedSeconds { metrics["env/operator_paused_seconds"] = paused }
    if let group {
      rankMetrics = try RankMetrics.gather(metrics, over: group)
      metrics = RankMetrics.reduce(rankMetrics)
    }
    let r = config.runner
    // Every rank evaluates its share of the episodes; rank 0 records the whole evaluation.
    if r.valCheckInterval > 0 && iteration % r.valCheckInterval == 0 {
      let eval = config.env.eval
      let video = isLeader ? try videoPath(split: eval.split) : nil
      let result = try actorThread.run { try self.evaluate(eval, video: video) }
      if isLeader {
        metrics.merge(result.metrics(prefix: "eval")) { $1 }
        try writeEvaluationTable(result, section: eval)
        metrics["time/eval"] = clock.lap()
        metrics["cores/eval"] = clock.cores
      }
    }
    if r.saveInterval > 0 && iteration % r.saveInterval == 0 {
      metrics["time/checkpoint_snapshot"] = try saveCheckpoint(
        evalSuccess: metrics["eval/success_once"], evalEpisodes: metrics["eval/episodes"].map { Int($0) })
    }
    try record(metrics)
    return metrics
  }

  /// Runs `runner.max_epochs` iterations (forever with -1), calling `progress` after each, then
  /// writes a final checkpoint and waits for the writes to finish.
  public func run(progress: (Int, [String: Double]) -> Void) throws {
    if let metrics = try evaluateBeforeTraining() { progress(0, metrics) }
    while config.runner.maxEpochs < 0 || iteration < config.runner.maxEpochs {
      let metrics = try step()
      progress(iteration, metrics)
    }
    try finish()
  }

  /// With `runner.val_before_train`, on a fresh run (iteration 0): evaluates the starting policy
  /// on env.eval and records it as step 0 (eval/*, its table); nil otherwise. With ranks, every
  /// rank calls it and rank 0 records (the others get nil).
  public func evaluateBeforeTraining() throws -> [String: Double]? {
    guard config.runner.valBeforeTrain && iteration == 0 else { return nil }
    var clock = Clock()
    let eval = config.env.eval
    let result = try actorThread.run { try self.evaluate(eval) }
    guard isLeader else { return nil }
    var metrics = result.metrics(prefix: "eval")
    metrics["time/eval"] = clock.lap()
    metrics["cores/eval"] = clock.cores
    metrics["runner/environment_steps"] = 0
    try writeEvaluationTable(result, section: eval)
    try record(metrics)
    return metrics
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
  /// took (all that training waits for). With ranks, every rank calls it (their generator
  /// states are gathered) and rank 0 writes.
  @discardableResult
  public func saveCheckpoint(evalSuccess: Double? = nil, evalEpisodes: Int? = nil) throws -> Double {
    var clock = Clock()
    var snapshot = try RLCheckpoint.snapshot(self, evalSuccess: evalSuccess)
    snapshot.evalEpisodes = evalEpisodes
    if isLeader { checkpointWriter.submit(snapshot) }
    savedIteration = iteration
    return clock.lap()
  }

  /// Blocks until every checkpoint handed to the writer is on disk (or failed).
  public func waitForCheckpoints() { checkpointWriter.waitUntilIdle() }

  public func checkpointPath(_ step: Int) -> String { checkpoints.root + "/" + CheckpointStore.directoryName(step: step) }

  /// Closed-loop evaluation on an env section's tasks and split (one episode per env), sampling
  /// at `temperature_eval` (greedy at 0). With `video`, a GIF of the first episodes is saved there.
  /// With ranks, every rank calls it and each gets the whole result: on the embedded simulator
  /// each rank runs its shard of the episodes; a Python benchmark is evaluated by rank 0.
  public func evaluate(_ e: EnvConfig, video: String? = nil) throws -> ClosedLoopEvaluation.Result {
    let mine = try evaluateShard(e, video: video)
    return group == nil ? mine : ClosedLoopEvaluation.Result.merged(try gathered(mine, "all-gather of the evaluation results"))
  }

  /// This rank's part of `evaluate`.
  private func evaluateShard(_ e: EnvConfig, video: String?) throws -> ClosedLoopEvaluation.Result {
    let s = config.algorithm.sampling
    let sampling = s.temperatureEval == 0 ? SamplingSettings(greedy: true) : SamplingSettings(temperature: s.temperatureEval, topK: s.topK)
    if e.simulatorType != "embedded" {
      // Every task (a LIBERO suite name: each of its tasks) with total_num_envs / tasks episodes,
      // reset states 0, 1, ... (LIBERO: its fixed init states; ManiSkill: fixed seeds).
      guard isLeader else { return ClosedLoopEvaluation.Result(perTask: [:]) }
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
      video: video, work: trainer.work, shard: ClosedLoopEvaluation.Shard(index: rank.index, count: rank.of))
  }

  /// Writes `<run>/eval/step_<N>_<split or simulator>.md` and `.json` (success and, on the
  /// embedded simulator, episodes by outcome per task); returns the path without extension.
  @discardableResult
  public func writeEvaluationTable(_ result: ClosedLoopEvaluation.Result, section e: EnvConfig) throws -> String {
    let embedded = e.simulatorType == "embedded"
    let path = directory + "/eval/step_\(iteration)_\(embedded ? e.split : e.simulatorType)"
    try EvaluationReport.write(
      result, title: "\(config.runner.experimentName), iteration \(iteration), \(embedded ? "split " + e.split : e.simulatorType)", to: path)
    return path
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
    ].merging(operatorMetrics(episodes, prefix: prefix)) { $1 }
  }

  /// The share of episodes a robot's operator ended, marked a success or marked a failure
  /// (only when some were: simulators have no operator).
  static func operatorMetrics(_ episodes: [EpisodeSummary], prefix: String) -> [String: Double] {
    guard episodes.contains(where: { $0.operatorSignal != nil }) else { return [:] }
    let n = Double(episodes.count)
    let signals: [String] = ["end", "success", "failure"]
    return Dictionary(uniqueKeysWithValues: signals.map { signal in
      ("\(prefix)/operator_\(signal)", Double(episodes.filter { $0.operatorSignal == signal }.count) / n)
    })
  }

  /// One iteration's metrics to every sink (JSON lines, TensorBoard), flushed.
  private func record(_ metrics: [String: Double]) throws {
    for sink in sinks {
      try sink.write(step: iteration, metrics: metrics)
      try sink.flush()
    }
  }
}

/// Seconds between laps, and how many cores the process kept busy meanwhile (CPU time of all
/// its threads over wall time).
struct Clock {
  private var last = DispatchTime.now().uptimeNanoseconds
  private var lastCPU = Clock.processCPUSeconds()
  /// Cores busy during the last lap.
  private(set) var cores = 0.0

  mutating func lap() -> Double {
    let now = DispatchTime.now().uptimeNanoseconds, cpu = Self.processCPUSeconds()
    defer { (last, lastCPU) = (now, cpu) }
    let seconds = Double(now - last) / 1e9
    cores = seconds > 0 ? (cpu - lastCPU) / seconds : 0
    return seconds
  }

  static func processCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
  }
}

extension ClosedLoopEvaluation.Result {
  /// eval/success_once (and success_at_end) overall, success_once per task.
  public func metrics(prefix: String) -> [String: Double] {
    var out = ["\(prefix)/success_once": successRate, "\(prefix)/success_at_end": successAtEndRate, "\(prefix)/episodes": Double(episodes)]
    for (task, r) in perTask { out["\(prefix)/success_once/\(task)"] = Double(r.successes) / Double(max(r.episodes, 1)) }
    // Why episodes ended as they did (embedded simulator), as fractions of all episodes.
    if perTask.values.contains(where: { !$0.outcomes.isEmpty }) {
      for kind in EpisodeOutcome.allCases where kind != .success {
        out["\(prefix)/outcome/\(kind.rawValue)"] = Double(perTask.values.reduce(0) { $0 + $1.outcomes[kind, default: 0] }) / Double(max(episodes, 1))
      }
    }
    return out
  }
}

extension Rendezvous {
  /// Where the ranks a config's `cluster` keys name meet, this process's rank among them, and
  /// the backend `cluster.backend` asks for (auto: NCCL for an actor on CUDA where libtorch
  /// has it).
  public init(cluster c: ClusterConfig) throws {
    let cudaActor = c.placement(of: .actor).device.hasPrefix("cuda")
    let backend: CollectiveBackend
    switch c.backend {
    case .gloo: backend = .gloo
    case .auto: backend = cudaActor && CollectiveBackend.ncclAvailable ? .nccl : .gloo
    case .nccl:
      guard CollectiveBackend.ncclAvailable else {
        throw ConfigError("cluster.backend", "nccl needs a libtorch built with NCCL (a CUDA build of PyTorch, through RLINF_LIBTORCH); the linked one has Gloo only")
      }
      backend = .nccl
    }
    self.init(
      host: c.masterAddr, port: c.masterPort, rank: c.rank, worldSize: c.worldSize, timeoutSeconds: c.collectiveTimeout, backend: backend)
  }
}
