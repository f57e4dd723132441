import Config
import Models
import RL
import Sim
import Staging
import Torch

/// Fills rollout windows by running the policy against the embedded simulator. The training
/// environments are split into `rollout.pipeline_stage_num` sub-batches, each its own simulator;
/// a `StagedRollout` schedules their inference and stepping under the config's placement
/// (collocated, disaggregated or hybrid). Owns the environments, so partial-reset episodes
/// continue across windows.
public final class RolloutCollector {
  /// The first window's storage (further rollout epochs allocate their own of the same shape).
  public let buffer: RolloutBuffer
  public let numEnvs: Int
  public let stages: StagedRollout
  let config: TrainingConfig
  let parts: [EnvSubBatch]
  /// Windows collected so far (reset-state ids advance with it; restored on resume).
  public internal(set) var windowsCollected = 0
  /// The environments have not started from a window's reset states yet (a new or resumed run).
  private var freshEnvironments = true

  public init(config: TrainingConfig, policy: VLAPolicy, placement: Placement) throws {
    self.config = config
    let e = config.env.train
    let chunk = policy.config.numActionChunks
    numEnvs = e.totalNumEnvs
    let size = numEnvs / placement.subBatches
    let embedded = e.simulatorType == "embedded"
      ? try Self.simulatorConfig(
        e, imageSize: policy.config.imageSize, groupSize: config.algorithm.advType == .grpo ? config.algorithm.groupSize : 1)
      : nil
    parts = try (0..<placement.subBatches).map { s in
      let rows = (s * size)..<((s + 1) * size)
      let env: any BatchedEnvironment
      if var c = embedded {
        c.numEnvs = size
        c.tasks = Array(c.tasks[rows])
        c.threads = min(placement.env.threads, size)
        if let n = TrainingConfig.deviceIndex(placement.env.device, prefix: "vulkan:") {
          c.renderer = .vulkan
          c.vulkanDevice = n
        }
        env = try TabletopEnv(config: c)
      } else if e.simulatorType == "remote" {
        env = try RemoteEnvironment(spec: Self.remoteSpec(e, robot: s, numEnvs: size, policy: policy))
      } else {
        let tasks = e.workerTasks
        env = try WorkerEnvironment(spec: Self.workerSpec(e, task: tasks[s % tasks.count], numEnvs: size, policy: policy))
      }
      if policy.config.proprioDim > 0 && env.stateSize != policy.config.proprioDim {
        throw ConfigError("actor.model.use_proprio", "the policy reads \(policy.config.proprioDim) state values; the \(e.simulatorType) environments give \(env.stateSize)")
      }
      return try EnvSubBatch(env: env, rows: rows, chunk: chunk, wrist: e.useWristImage, seed: UInt64(config.actor.seed) &+ 17 &+ UInt64(s))
    }
    buffer = try RolloutBuffer(
      steps: e.maxStepsPerRolloutEpoch / chunk, envs: numEnvs, chunk: chunk, imageSize: policy.config.imageSize,
      stateSize: policy.config.proprioDim, valueOutputs: policy.valueHead == nil ? 0 : policy.config.valueOutputs)
    stages = try StagedRollout(placement: placement)
  }

  /// The worker that simulates one sub-batch of a Python benchmark (`env.*.worker`).
  static func workerSpec(_ e: EnvConfig, task: String, numEnvs: Int, policy: VLAPolicy) -> WorkerSpec {
    var spec = WorkerSpec(
      python: e.worker.pythonPath(simulator: e.simulatorType), script: e.worker.script, backend: e.simulatorType, task: task,
      numEnvs: numEnvs, imageSize: policy.config.imageSize)
    spec.wristCamera = e.useWristImage
    spec.maxChunk = policy.config.numActionChunks
    spec.seed = UInt64(e.seed)
    spec.options = e.worker.options
    if let steps = e.maxEpisodeSteps, spec.options["max_episode_steps"] == nil { spec.options["max_episode_steps"] = "\(steps)" }
    if spec.options["reward_mode"] == nil && e.simulatorType == "maniskill" {
      spec.options["reward_mode"] = e.rewardMode == .shaped ? "normalized_dense" : "sparse"
    }
    spec.startTimeout = e.worker.startTimeout
    spec.requestTimeout = e.worker.requestTimeout
    return spec
  }

  /// The robot behind one sub-batch (`simulator_type: remote`).
  static func remoteSpec(_ e: EnvConfig, robot: Int, numEnvs: Int, policy: VLAPolicy) -> RemoteSpec {
    var spec = RemoteSpec(address: e.worker.addresses[robot], task: e.tasks[robot % e.tasks.count], numEnvs: numEnvs, imageSize: policy.config.imageSize)
    spec.wristCamera = e.useWristImage
    spec.maxChunk = policy.config.numActionChunks
    spec.seed = UInt64(e.seed)
    spec.options = e.worker.options
    spec.connectTimeout = e.worker.startTimeout
    spec.heartbeatTimeout = e.worker.requestTimeout
    return spec
  }

  /// Seconds remote robots' operators have held steps paused so far (nil without robots).
  public var robotPausedSeconds: Double? {
    let robots = parts.compactMap { $0.env as? RemoteEnvironment }
    return robots.isEmpty ? nil : robots.reduce(0) { $0 + $1.pausedSeconds }
  }

  /// Python workers replaced after a crash, hang or prompt, and robots that went away, so far
  /// (their reports in the log).
  public var workerFailures: [String] {
    parts.flatMap { ($0.env as? WorkerEnvironment)?.failures ?? ($0.env as? RemoteEnvironment)?.failures ?? [] }
  }

  /// Storage for one more window, shaped like `buffer` (further rollout epochs).
  public func makeBuffer() throws -> RolloutBuffer {
    try RolloutBuffer(
      steps: buffer.steps, envs: buffer.envs, chunk: buffer.chunk, imageSize: buffer.images.size(2), stateSize: buffer.state?.size(2) ?? 0,
      valueOutputs: buffer.valueOutputs)
  }

  /// The simulator settings of an env section. GRPO groups of `groupSize` consecutive
  /// environments run the same task (they will share reset states).
  public static func simulatorConfig(_ e: EnvConfig, imageSize: Int, groupSize: Int) throws -> TabletopConfig {
    var c = TabletopConfig()
    guard let split = Split(rawValue: e.split) else { throw ConfigError("env.split", "unknown split \(e.split)") }
    c.split = split
    let names = e.tasks.isEmpty ? split.defaultTasks.map(\.name) : e.tasks
    do {
      _ = try names.map(TaskCatalog.named)
    } catch {
      throw ConfigError("env.tasks", "\(error)")
    }
    c.tasks = (0..<e.totalNumEnvs).map { names[($0 / groupSize) % names.count] }
    c.numEnvs = e.totalNumEnvs
    c.imageSize = imageSize
    c.wristCamera = e.useWristImage
    c.thirdPersonCamera = !e.useWristImage  // the policy sees one camera: render only that one
    c.threads = e.numThreads
    c.seed = UInt64(e.seed)
    c.autoReset = e.autoReset
    c.ignoreTerminations = e.ignoreTerminations
    c.shapedReward = e.rewardMode != .sparse
    c.reachReward = e.rewardMode == .dense
    c.maxEpisodeSteps = e.maxEpisodeSteps
    c.randomizeAppearance = e.randomizeAppearance
    c.maxDistractors = e.maxDistractors
    c.startSpread = e.startSpread
    return c
  }

  /// Reset-state ids for a window: one per GRPO group (shared by its environments), fresh each
  /// window unless `use_fixed_reset_state_ids`.
  func resetStateIDs(groupSize: Int) -> [Int] {
    let groups = numEnvs / groupSize
    let base = config.env.train.useFixedResetStateIDs ? 0 : windowsCollected * groups
    return (0..<numEnvs).map { base + $0 / groupSize }
  }

  /// Runs one window of `buffer.steps` chunk steps with `policy` (sampling its actions), filling
  /// `buffer` (one shaped like `self.buffer`). Returns the episodes that ended during the window.
  public func collect(into buffer: RolloutBuffer, policy: VLAPolicy, sampling: SamplingSettings) throws -> [EpisodeSummary] {
    guard buffer.envs == numEnvs, buffer.chunk == self.buffer.chunk, buffer.steps == self.buffer.steps else {
      throw TorchError("collect: the buffer's shape differs from this collector's")
    }
    let grpo = config.algorithm.advType == .grpo
    // Without partial reset every window is one fresh episode per environment; GRPO always
    // starts its groups from shared states; with partial reset episodes carry on across windows.
    if !config.env.train.autoReset || grpo || freshEnvironments {
      freshEnvironments = false
      let ids = resetStateIDs(groupSize: grpo ? config.algorithm.groupSize : 1)
      for part in parts { try part.env.reset(stateIDs: Array(ids[part.rows])) }
      buffer.resetStateIDs = ids
    }
    for part in parts { _ = part.drainEpisodes() }
    try buffer.clear()
    try stages.run(CollectionWindow(parts: parts, buffer: buffer, policy: policy, sampling: sampling, bootstrap: config.algorithm.bootstrapType))
    windowsCollected += 1
    let episodes = parts.flatMap { $0.drainEpisodes() }
    guard config.env.train.autoReset else {
      // Without partial reset an ended environment keeps reporting its end at every later
      // step; only its first episode is one.
      var seen = Set<Int>()
      return episodes.filter { seen.insert($0.env).inserted }
    }
    return episodes
  }

  /// Policy actions [N, K, 7] (normalised bin centres) -> robot actions in [-1, 1], row-major,
  /// written into `slot`.
  static func writeRobotActions(_ normalized: Tensor, policy: VLAPolicy, into slot: inout [Float]) throws {
    let values = try normalized.doubles()
    precondition(values.count == slot.count, "action slot holds \(slot.count) values, the policy produced \(values.count)")
    for row in 0..<(values.count / 7) {
      let robot = policy.config.actionStatistics.unnormalize(Array(values[(row * 7)..<((row + 1) * 7)]))
      for d in 0..<7 { slot[row * 7 + d] = Float(max(-1, min(1, robot[d]))) }
    }
  }
}

/// One window's work for the staged rollout, per sub-batch: the rollout stage's inference and
/// the env stage's stepping, both recording into the window's buffer rows of that sub-batch.
final class CollectionWindow: RolloutStageWork {
  let parts: [EnvSubBatch]
  let buffer: RolloutBuffer
  let policy: VLAPolicy
  let sampling: SamplingSettings
  let proprio: Bool, critic: Bool
  /// V(final observation) is needed: a critic and a bootstrap type that uses it.
  let finalValues: Bool

  init(parts: [EnvSubBatch], buffer: RolloutBuffer, policy: VLAPolicy, sampling: SamplingSettings, bootstrap: BootstrapType) {
    self.parts = parts
    self.buffer = buffer
    self.policy = policy
    self.sampling = sampling
    proprio = policy.config.proprioDim > 0
    critic = policy.valueHead != nil
    finalValues = critic && bootstrap != .none
  }

  var subBatches: Int { parts.count }
  var steps: Int { buffer.steps }

  func infer(subBatch s: Int, step t: Int) throws {
    let part = parts[s]
    try Autograd.withNoGrad {  // grad mode is per thread: set here, on the rollout thread
      // V(final observation) of the environments that ended and were reset with step t - 1
      // (their final observations stay in place until the sub-batch's next step).
      if finalValues && t > 0 { try recordFinalValues(part, step: t - 1) }
      let current = try part.current()
      let state = proprio ? current.state : nil
      if t == steps {
        if critic {
          try buffer.recordBootstrap(rows: part.rows, values: policy.predictValues(images: current.images, instructions: part.instructions, state: state))
        }
        return
      }
      let output = try policy.act(images: current.images, instructions: part.instructions, state: state, sampling: sampling, generator: part.generator)
      try buffer.recordPolicy(step: t, rows: part.rows, images: current.images, state: state, instructions: part.instructions, output: output)
      try RolloutCollector.writeRobotActions(output.actions, policy: policy, into: &part.actions)
    }
  }

  func simulate(subBatch s: Int, step t: Int) throws {
    let part = parts[s]
    let n = part.rows.count, k = buffer.chunk
    let result = try part.actions.withUnsafeBufferPointer { try part.env.stepChunk($0, chunk: k) }
    let ended = (0..<n).map { i in (0..<k).contains { result.terminated[i * k + $0] || result.truncated[i * k + $0] } }
    let terminated = (0..<n).map { i in (0..<k).contains { result.terminated[i * k + $0] } }
    try buffer.recordEnvironment(
      step: t, rows: part.rows, rewards: result.rewards, terminated: terminated, truncated: zip(ended, terminated).map { $0 && !$1 })
  }

  private func recordFinalValues(_ part: EnvSubBatch, step: Int) throws {
    let reset = (0..<part.rows.count).filter { part.env.finalValid[$0] }
    guard !reset.isEmpty else { return }
    let rows = try Tensor(reset.map(Int64.init))
    let final = try part.final()
    let values = try policy.predictValues(
      images: final.images.indexSelect(dim: 0, index: rows), instructions: reset.map { part.instructions[$0] },
      state: proprio ? final.state.indexSelect(dim: 0, index: rows) : nil)
    try buffer.recordFinalValues(step: step, envs: reset.map { part.rows.lowerBound + $0 }, values: values)
  }
}

extension EnvConfig {
  /// The tasks a worker benchmark runs: env.*.tasks, LIBERO suite names expanded to their tasks.
  var workerTasks: [String] { simulatorType == "libero" ? LiberoSuites.expand(tasks) : tasks }
}
