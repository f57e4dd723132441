import Checkpoints
import Config
import Control
import Foundation
import Logging
import Pipeline

/// One training job at a time, on its own thread: SFT warm start when the config asks for it,
/// then RL iterations until `runner.max_epochs`, a stop, or forever. Control requests arrive on
/// the control server's thread; they only set flags or queue work that the job thread picks up
/// between iterations, so a request never waits for training and training never waits for a
/// client.
final class JobController: @unchecked Sendable {
  /// What the job is doing.
  enum Phase: String {
    /// No job.
    case idle
    /// Recording demonstrations and fine-tuning the starting policy (`sft.enabled`).
    case warmStart = "sft_warm_start"
    /// Building the run (policy, environments, stage threads) or resuming it.
    case starting
    /// RL iterations: rollout, advantages, update.
    case training
    /// Between iterations, waiting for `resume`.
    case paused
    /// A requested evaluation.
    case evaluating
    /// Finishing: the final checkpoint is being written.
    case stopping
    /// Ended after max_epochs or a stop; the last checkpoint is complete.
    case finished
    /// Ended with an error (`error` says which).
    case failed
  }

  private enum Work: Codable {
    case checkpoint
    case eval(split: String)
    case set(key: String, value: String)

    /// The control command that asks for it.
    var command: String {
      switch self {
      case .checkpoint: "checkpoint"
      case .eval: "eval"
      case .set: "set"
      }
    }
  }

  private let condition = NSCondition()
  static let historyLength = 100
  private let logger: Logger
  private let notifier: SystemdNotifier
  private let stateDirectory: String
  private let onMetrics: @Sendable (Int, [String: Double]) -> Void
  private let onFinish: @Sendable () -> Void
  // Guarded by `condition`:
  private var phase = Phase.idle
  private var jobName: String?
  private var configLabel: String?
  private var liveConfig: TrainingConfig?
  private var queued: [Work] = []
  private var pauseRequested = false
  private var stopRequested = false
  private var iteration = 0
  private var environmentSteps = 0
  /// When this start's RL iterations began (after any warm start): the ETA's clock.
  private var startedAt = Date()
  private var iterationsThisStart = 0
  private var lastMetrics: [String: Double] = [:]
  private var lastEval: [String: Double] = [:]
  /// Each rank's metrics of the last iteration (a data-parallel job; rank 0 shows them).
  private var rankStatus: [[String: Double]] = []
  private var history: [(step: Int, metrics: [String: Double])] = []
  private var placement: [String] = []
  private var store: CheckpointStore?
  private var lastError: String?
  /// The warm start's last logged training step (nil before the first, and outside it).
  private var warmStart: SFTRun.Progress?
  /// The job's policy server (`serve.enabled`), while the job runs.
  private var policyServer: JobPolicyServer?
  private var thread: Thread?

  init(
    stateDirectory: String, logger: Logger, notifier: SystemdNotifier,
    onMetrics: @escaping @Sendable (Int, [String: Double]) -> Void, onFinish: @escaping @Sendable () -> Void
  ) {
    self.stateDirectory = stateDirectory
    self.logger = logger
    self.notifier = notifier
    self.onMetrics = onMetrics
    self.onFinish = onFinish
  }

  private var active: Bool { ![.idle, .finished, .failed].contains(phase) }

  // MARK: requests (control server thread)

  /// Where a job's config came from.
  enum ConfigSource {
    /// `rlinfd --config PATH`: the daemon's own launch, read from the file.
    case launch(path: String)
    /// A `start` request: the YAML text the client read with its own permissions, and the name
    /// it gave it (shown in status and errors only). Its paths are confined (`ClientConfig`).
    case client(text: String, label: String)
  }

  /// Starts a job; the config is read and checked here, so errors reach the client. A running
  /// job refuses the start before anything is parsed or read. Relative log paths are taken
  /// inside the state directory.
  func start(_ source: ConfigSource) throws -> JSONValue {
    try condition.withLock { try refuseWhileActive() }
    var config: TrainingConfig
    let text: String, label: String
    switch source {
    case .launch(let path):
      guard let data = FileManager.default.contents(atPath: path), let contents = String(data: data, encoding: .utf8) else {
        throw ConfigError("", "cannot read config file \(path)")
      }
      // torchrun's RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT make this daemon one rank of a job.
      config = try TrainingConfig.parse(yaml: contents, source: path).applyingRankEnvironment()
      try config.validate()
      text = contents
      label = path
      if !config.runner.logPath.hasPrefix("/") { config.runner.logPath = stateDirectory + "/" + config.runner.logPath }
    case .client(let clientText, let clientLabel):
      config = try ClientConfig.parse(clientText, label: clientLabel, stateDirectory: stateDirectory)
      text = clientText
      label = clientLabel
    }
    return try condition.withLock {
      try refuseWhileActive()  // again: another start may have won while this one parsed
      phase = .starting
      jobName = config.runner.experimentName
      configLabel = label
      liveConfig = config
      queued = []
      pauseRequested = false
      stopRequested = false
      lastError = nil
      warmStart = nil
      history = []
      lastMetrics = [:]
      lastEval = [:]
      rankStatus = []
      iteration = 0
      environmentSteps = 0
      iterationsThisStart = 0
      startedAt = Date()
      let thread = Thread { [self, config] in runJob(config, text: text) }
      thread.name = "rlinf-job"
      self.thread = thread
      thread.start()
      return .object(["job": .string(config.runner.experimentName), "directory": .string(config.runner.logPath + "/" + config.runner.experimentName)])
    }
  }

  /// One job at a time. Call with `condition` held.
  private func refuseWhileActive() throws {
    guard !active else { throw ControlFailure("job \(jobName ?? "") is \(phase.rawValue); stop it first") }
  }

  func pause() throws {
    try condition.withLock {
      guard active else { throw ControlFailure("no job is running") }
      try refuseOnFollower("pause")
      pauseRequested = true
    }
  }

  func resume() throws {
    try condition.withLock {
      guard active else { throw ControlFailure("no job is running") }
      try refuseOnFollower("resume")
      pauseRequested = false
      condition.broadcast()
    }
  }

  /// Asks the job to stop after its current iteration (with a checkpoint); on any rank of a
  /// data-parallel job, every rank stops at the same iteration.
  func stop() throws {
    try condition.withLock {
      guard active else { throw ControlFailure("no job is running") }
      stopRequested = true
      condition.broadcast()
    }
  }

  func requestCheckpoint() throws { try enqueue(.checkpoint) }

  func requestEval(split: String) throws {
    guard ClosedLoopEvaluation.splitNames.contains(split) else {
      throw ControlFailure("unknown split \"\(split)\" (\(ClosedLoopEvaluation.splitNames.joined(separator: ", ")))")
    }
    try enqueue(.eval(split: split))
  }

  /// Checks a live change now (errors name the key) and applies it between iterations.
  func set(key: String, value: String) throws {
    try condition.withLock {
      guard active, let config = liveConfig else { throw ControlFailure("no job is running") }
      try refuseOnFollower("set")
      liveConfig = try config.settingLive(key, to: value)
      queued.append(.set(key: key, value: value))
      condition.broadcast()
    }
  }

  private func enqueue(_ work: Work) throws {
    try condition.withLock {
      guard active else { throw ControlFailure("no job is running") }
      try refuseOnFollower(work.command)
      queued.append(work)
      condition.broadcast()
    }
  }

  /// Rank 0's control socket speaks for a data-parallel job: the other ranks would act on a
  /// request alone and leave the ranks out of step. Call with `condition` held.
  private func refuseOnFollower(_ command: String) throws {
    guard let cluster = liveConfig?.cluster, cluster.rank != 0 else { return }
    throw ControlFailure(
      "this daemon is rank \(cluster.rank) of \(cluster.worldSize): send \(command) to rank 0's control socket, which speaks for every rank (stop works on any rank)")
  }

  /// Stops the job (if any) and waits until its final checkpoint is written.
  func shutdown() {
    condition.withLock {
      if active { stopRequested = true }
      condition.broadcast()
      while active { condition.wait() }
    }
  }

  // MARK: views (control server thread)

  /// Whether the last job ended with an error.
  var hasFailed: Bool { condition.withLock { phase == .failed } }

  func status() -> JSONValue {
    condition.withLock {
      let elapsed = Date().timeIntervalSince(startedAt)
      let maxEpochs = liveConfig?.runner.maxEpochs ?? 0
      var eta: JSONValue = maxEpochs > 0 && iterationsThisStart > 0
        ? .number(elapsed / Double(iterationsThisStart) * Double(max(0, maxEpochs - iteration))) : .null
      if phase == .warmStart { eta = warmStart.map { .number($0.secondsLeft) } ?? .null }
      func metric(_ key: String) -> JSONValue { lastMetrics[key].map(JSONValue.number) ?? .null }
      var result: [String: JSONValue] = [
        "phase": .string(phase.rawValue),
        "job": jobName.map(JSONValue.string) ?? .null,
        "config": configLabel.map(JSONValue.string) ?? .null,
        "iteration": .number(Double(iteration)),
        "max_epochs": .number(Double(maxEpochs)),
        "environment_steps": .number(Double(environmentSteps)),
        "success_once": metric("env/success_once"),
        "success_recent": metric("env/success_recent"),
        "success_recent_episodes": metric("env/success_recent_episodes"),
        "end_to_end_env_steps_per_second": metric("runner/env_steps_per_second"),
        "eval_success_once": lastEval["eval/success_once"].map(JSONValue.number) ?? .null,
        "env_steps_per_second": metric("env/steps_per_second"),
        "eta_seconds": eta,
        "stage_seconds": .object([
          "env": metric("time/env_stage"), "rollout": metric("time/rollout_stage"), "actor": metric("time/actor_training"),
        ]),
        "placement": .array(placement.map(JSONValue.string)),
        "paused_requested": .bool(pauseRequested),
        "error": lastError.map(JSONValue.string) ?? .null,
      ]
      if let latest = store?.latest() { result["latest_checkpoint"] = .string(latest.path) }
      if let cluster = liveConfig?.cluster, cluster.worldSize > 1 {
        result["rank"] = .number(Double(cluster.rank))
        result["world_size"] = .number(Double(cluster.worldSize))
        if cluster.rank == 0 { result["ranks"] = .array(rankStatus.enumerated().map { Self.rankJSON($0.offset, $0.element) }) }
      }
      if let policyServer { result["serve"] = policyServer.status() }
      if phase == .warmStart, let p = warmStart, let config = liveConfig {
        result["warm_start"] = .object([
          "step": .number(Double(p.step)), "steps": .number(Double(config.sft.steps)), "loss": .number(p.loss),
          "samples_per_second": .number(p.samplesPerSecond),
        ])
      }
      return .object(result)
    }
  }

  /// One rank's line in rank 0's status.
  private static func rankJSON(_ rank: Int, _ metrics: [String: Double]) -> JSONValue {
    func metric(_ key: String) -> JSONValue { metrics[key].flatMap { $0.isFinite ? JSONValue.number($0) : nil } ?? .null }
    return .object([
      "rank": .number(Double(rank)),
      "environment_steps": metric("runner/environment_steps"),
      "success_recent": metric("env/success_recent"),
      "env_steps_per_second": metric("env/steps_per_second"),
      "end_to_end_env_steps_per_second": metric("runner/env_steps_per_second"),
      "step_seconds": metric("time/step"),
      "actor_seconds": metric("time/actor_training"),
    ])
  }

  func metrics(last: Int) -> [JSONValue] {
    condition.withLock { history.suffix(max(0, last)).map { Self.metricsJSON(step: $0.step, metrics: $0.metrics) } }
  }

  static func metricsJSON(step: Int, metrics: [String: Double]) -> JSONValue {
    .object(["step": .number(Double(step)), "metrics": .object(metrics.filter { $0.value.isFinite }.mapValues(JSONValue.number))])
  }

  func checkpoints() -> JSONValue {
    let store = condition.withLock { self.store }
    guard let store else { return .array([]) }
    let latest = store.latest()?.step, best = store.best()?.step
    return .array(store.list().map { entry in
      .object([
        "step": .number(Double(entry.step)), "path": .string(entry.path), "bytes": .number(Double(entry.bytes)),
        "eval_success_once": entry.evalSuccess.map(JSONValue.number) ?? .null,
        "latest": .bool(entry.step == latest), "best": .bool(entry.step == best),
      ])
    })
  }

  // MARK: the job thread

  private func setPhase(_ p: Phase) {
    condition.withLock {
      phase = p
      condition.broadcast()
    }
    notifier.notify("STATUS=\(jobName ?? "rlinfd"): \(p.rawValue)")
  }

  private func runJob(_ initial: TrainingConfig, text: String) {
    var config = initial
    let name = config.runner.experimentName
    let outcome: Phase
    do {
      let directory = config.runner.logPath + "/" + name
      let hasCheckpoint = FileManager.default.fileExists(atPath: directory + "/checkpoints/latest")
      if config.sft.enabled && !hasCheckpoint {
        setPhase(.warmStart)
        let path = try SFTWarmStart.run(
          config, log: { self.logger.info("\($0)") }, progress: { p in self.condition.withLock { self.warmStart = p } },
          shouldStop: { self.condition.withLock { self.stopRequested } })
        config.actor.model.modelPath = path
      }
      setPhase(.starting)
      let logger = self.logger
      let run = try RLRun(config: config, resume: true, configText: text, progress: { logger.info("\($0)") }) { step, result in
        switch result {
        case .success(let path):
          logger.info("checkpoint written", metadata: ["step": "\(step)", "path": "\(path)"])
          do {
            try self.condition.withLock { self.policyServer }?.checkpointWritten(path: path, step: step)
          } catch {
            logger.error("the policy server keeps its weights; checkpoint \(path) did not load: \(error)")
          }
        case .failure(let error): logger.error("checkpoint of step \(step) failed; the previous one stays valid: \(error)")
        }
      }
      condition.withLock {
        startedAt = Date()
        store = run.checkpoints
        placement = run.placement.summary
        iteration = run.iteration
        environmentSteps = run.environmentSteps
      }
      if let from = run.resumedFrom {
        logger.info("job \(name): resumed from \(from.path) (iteration \(run.iteration))")
      } else {
        logger.info("job \(name): started fresh, \(run.policy.parameterCount) parameters, \(run.collector.numEnvs) environments")
      }
      logger.info("job \(name): matmuls in \(config.actor.model.precision.summary(on: run.placement.actor.torchDevice))")
      for line in run.placementReport { logger.info("auto placement: \(line)") }
      for line in run.placement.summary { logger.info("placement: \(line)") }
      if config.serve.enabled && run.isLeader {
        // One server per job: the other ranks hold the same weights.
        let server = try JobPolicyServer(run: run, config: config)
        condition.withLock { policyServer = server }
        logger.info("serving the policy on \(server.address) (\(server.weights.rawValue) weights, openpi protocol)")
      }
      if let metrics = try run.evaluateBeforeTraining() {
        logger.info(Logger.Message(stringLiteral: String(format: "eval before training: success %.1f%%", 100 * (metrics["eval/success_once"] ?? .nan))))
        condition.withLock { lastEval = ["eval/success_once": metrics["eval/success_once"] ?? .nan] }
        onMetrics(0, metrics)
      }
      try loop(run)
      setPhase(.stopping)
      try run.finish()
      logger.info("job \(name): finished at iteration \(run.iteration)")
      if let best = run.checkpoints.best(), let success = best.evalSuccess {
        // The policy the job hands over: the newest within one standard error of the best
        // periodic evaluation (CheckpointStore.best).
        logger.info(Logger.Message(stringLiteral: String(format: "job %@: hands over %@ (iteration %d, periodic evaluation %.1f%%)", name, best.path, best.step, 100 * success)))
      }
      outcome = .finished
    } catch let stopped as SFTRun.Stopped {
      logger.info("job \(name): \(stopped); the warm start runs again from its beginning when the job starts next")
      outcome = .finished
    } catch {
      logger.error("job \(name) failed: \(error)")
      condition.withLock { lastError = "\(error)" }
      outcome = .failed
    }
    // Before the final phase: `shutdown()` returns on that phase, and the daemon may exit then.
    if let server = condition.withLock({ () -> JobPolicyServer? in defer { policyServer = nil }; return policyServer }) {
      if server.stop() {
        logger.info("policy server closed")
      } else {
        logger.error("policy server on \(server.address) did not close within \(Int(JobPolicyServer.closeTimeoutSeconds)) s; going on without it")
      }
    }
    setPhase(outcome)
    onFinish()
  }

  /// What the job does before its next iteration; with ranks, agreed by all of them.
  private struct Decision: Codable {
    var work: [Work]
    var stop: Bool
    var pause: Bool

    /// Rank 0's work and pause (only rank 0 takes those requests), and a stop if any rank
    /// asked for one: a SIGTERM to any rank stops every rank with a checkpoint.
    static func agreed(_ all: [Decision]) -> Decision {
      Decision(work: all[0].work, stop: all.contains(where: \.stop), pause: all[0].pause)
    }
  }

  /// Iterations, with queued work and pauses handled between them. With ranks, rank 0 repeats a
  /// pause's decision well within the collective timeout, so the other ranks wait through
  /// pauses of any length instead of failing at the timeout.
  private func loop(_ run: RLRun) throws {
    var paused = false
    let heartbeat = run.config.cluster.collectiveTimeout / 3
    while true {
      let mine = condition.withLock { () -> Decision in
        defer { queued = [] }
        return Decision(work: queued, stop: stopRequested, pause: pauseRequested)
      }
      let decision = Decision.agreed(try run.gathered(mine, "all-gather of the control requests"))
      for item in decision.work { try perform(item, run) }
      if decision.stop { return }
      if decision.pause {
        if !paused || !decision.work.isEmpty {
          setPhase(.paused)
          logger.info("paused at iteration \(run.iteration)")
        }
        paused = true
        if run.isLeader {
          let deadline = Date().addingTimeInterval(heartbeat)
          condition.withLock {
            while pauseRequested && !stopRequested && queued.isEmpty {
              if run.group == nil { condition.wait() } else if !condition.wait(until: deadline) { break }
            }
          }
        }
        continue
      }
      if paused { logger.info("resumed") }
      paused = false
      let maxEpochs = run.config.runner.maxEpochs
      if maxEpochs >= 0 && run.iteration >= maxEpochs { return }
      setPhase(.training)
      let metrics = try run.step()
      record(run, metrics)
      do {
        try condition.withLock { policyServer }?.afterIteration(run)
      } catch {
        logger.error("the policy server keeps its weights; the weight sync failed: \(error)")
      }
    }
  }

  private func perform(_ work: Work, _ run: RLRun) throws {
    switch work {
    case .checkpoint:
      let seconds = try run.saveCheckpoint(evalSuccess: condition.withLock { lastEval["eval/success_once"] })
      logger.info(Logger.Message(stringLiteral: String(format: "checkpoint of iteration %d requested: snapshot %.2f s, writing in the background", run.iteration, seconds)))
    case .eval(let split):
      setPhase(.evaluating)
      var section = run.config.env.eval
      if section.split != split {
        section.split = split
        section.tasks = []  // the split's own tasks
      }
      let embedded = section.simulatorType == "embedded"
      // Every rank runs its share; rank 0 reports the whole evaluation.
      let result = try run.evaluate(section, video: embedded && run.isLeader ? try run.videoPath(split: split) : nil)
      guard run.isLeader else { return }
      let table = try run.writeEvaluationTable(result, section: section)
      logger.info("evaluation table: \(table).md")
      let metrics = result.metrics(prefix: "eval/\(split)")
      condition.withLock { lastEval = ["eval/success_once": result.successRate] }
      logger.info(Logger.Message(stringLiteral: String(format: "eval %@: success %.1f%% over %d episodes", split, 100 * result.successRate, result.episodes)))
      onMetrics(run.iteration, metrics)
    case .set(let key, let value):
      try run.set(key, to: value)
      condition.withLock { liveConfig = run.config }
      logger.info("set \(key) = \(value)")
    }
  }

  private func record(_ run: RLRun, _ metrics: [String: Double]) {
    let (eta, maxEpochs) = condition.withLock { () -> (Double, Int) in
      iteration = run.iteration
      environmentSteps = run.environmentSteps
      iterationsThisStart += 1
      lastMetrics = metrics
      rankStatus = run.rankMetrics
      if let eval = metrics["eval/success_once"] { lastEval = ["eval/success_once": eval] }
      history.append((run.iteration, metrics))
      // The recent past for `rlinfctl metrics`; metrics.jsonl keeps everything.
      if history.count > Self.historyLength { history.removeFirst(history.count - Self.historyLength) }
      let max = run.config.runner.maxEpochs
      let elapsed = Date().timeIntervalSince(startedAt)
      return (max > 0 ? elapsed / Double(iterationsThisStart) * Double(Swift.max(0, max - run.iteration)) : .nan, max)
    }
    let success = metrics["env/success_recent"] ?? .nan
    var line = String(
      format: "iter %d/%@  env steps %d  success %.2f (last %d episodes)  reward %.3f  %.0f env steps/s (rollout %.0f)  ETA %@",
      run.iteration, maxEpochs < 0 ? "inf" : "\(maxEpochs)", run.environmentSteps, success, Int(metrics["env/success_recent_episodes"] ?? 0),
      metrics["rollout/rewards"] ?? .nan, metrics["runner/env_steps_per_second"] ?? .nan, metrics["env/steps_per_second"] ?? .nan,
      eta.isFinite ? Self.duration(eta) : "-")
    if let eval = metrics["eval/success_once"] { line += String(format: "  eval %.2f", eval) }
    logger.info(Logger.Message(stringLiteral: line))
    notifier.notify(String(format: "STATUS=%@: iteration %d, success %.2f", run.config.runner.experimentName, run.iteration, success))
    onMetrics(run.iteration, metrics)
  }

  static func duration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
  }
}

/// A request the daemon refuses, with the reason for the client.
struct ControlFailure: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
