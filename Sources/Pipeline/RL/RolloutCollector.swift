import Config
import Models
import RL
import Sim
import Torch

/// Fills rollout windows by running the policy against the embedded simulator, one stage after
/// the other (the collocated schedule): observe, infer a chunk for every environment, step the
/// chunk, record. Owns the training environments, so partial-reset episodes continue across
/// windows.
public final class RolloutCollector {
  public let env: TabletopEnv
  /// The first window's storage (further rollout epochs allocate their own of the same shape).
  public let buffer: RolloutBuffer
  let config: TrainingConfig
  /// What the policy reads, in place: the current and the final (auto-reset) observations.
  let current: ObservationViews, final: ObservationViews
  private var windows = 0

  public init(config: TrainingConfig, policy: VLAPolicy) throws {
    self.config = config
    let e = config.env.train
    let chunk = policy.config.numActionChunks
    env = try TabletopEnv(config: Self.simulatorConfig(e, imageSize: policy.config.imageSize, groupSize: config.algorithm.advType == .grpo ? config.algorithm.groupSize : 1))
    current = try ObservationViews(env: env, wrist: e.useWristImage)
    final = try ObservationViews(env: env, wrist: e.useWristImage, final: true)
    buffer = try RolloutBuffer(
      steps: e.maxStepsPerRolloutEpoch / chunk, envs: env.numEnvs, chunk: chunk, imageSize: env.imageSize,
      stateSize: policy.config.proprioDim, valueOutputs: policy.valueHead == nil ? 0 : policy.config.valueOutputs)
  }

  /// Storage for one more window, shaped like `buffer` (further rollout epochs).
  public func makeBuffer() throws -> RolloutBuffer {
    try RolloutBuffer(
      steps: buffer.steps, envs: buffer.envs, chunk: buffer.chunk, imageSize: env.imageSize, stateSize: buffer.state?.size(2) ?? 0,
      valueOutputs: buffer.valueOutputs)
  }

  /// The simulator settings of an env section. GRPO groups of `groupSize` consecutive
  /// environments run the same task (they will share reset states).
  static func simulatorConfig(_ e: EnvConfig, imageSize: Int, groupSize: Int) throws -> TabletopConfig {
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
    c.threads = e.numThreads
    c.seed = UInt64(e.seed)
    c.autoReset = e.autoReset
    c.ignoreTerminations = e.ignoreTerminations
    c.shapedReward = e.rewardMode == .shaped
    c.maxEpisodeSteps = e.maxEpisodeSteps
    return c
  }

  /// Reset-state ids for a window: one per GRPO group (shared by its environments), fresh each
  /// window unless `use_fixed_reset_state_ids`.
  func resetStateIDs(groupSize: Int) -> [Int] {
    let groups = env.numEnvs / groupSize
    let base = config.env.train.useFixedResetStateIDs ? 0 : windows * groups
    return (0..<env.numEnvs).map { base + $0 / groupSize }
  }

  /// Runs one window of `buffer.steps` chunk steps with `policy` (sampling its actions), filling
  /// `buffer` (one shaped like `self.buffer`). Returns the episodes that ended during the window.
  public func collect(into buffer: RolloutBuffer, policy: VLAPolicy, sampling: SamplingSettings, generator: Generator) throws -> [EpisodeSummary] {
    guard buffer.envs == env.numEnvs, buffer.chunk == self.buffer.chunk, buffer.steps == self.buffer.steps else {
      throw TorchError("collect: the buffer's shape differs from this collector's")
    }
    let grpo = config.algorithm.advType == .grpo
    // Without partial reset every window is one fresh episode per environment; GRPO always
    // starts its groups from shared states.
    if !config.env.train.autoReset || grpo || windows == 0 {
      let ids = resetStateIDs(groupSize: grpo ? config.algorithm.groupSize : 1)
      try env.reset(stateIDs: ids)
      buffer.resetStateIDs = ids
    }
    _ = env.drainEpisodes()
    try buffer.clear()
    let n = env.numEnvs, k = buffer.chunk
    let proprio = policy.config.proprioDim > 0
    let instructions = env.instructions  // each environment keeps its task
    let state = proprio ? current.state : nil
    for t in 0..<buffer.steps {
      let output = try Autograd.withNoGrad {
        try policy.act(images: current.images, instructions: instructions, state: state, sampling: sampling, generator: generator)
      }
      try buffer.recordPolicy(step: t, images: current.images, state: state, instructions: instructions, output: output)
      let result = try env.stepChunk(Self.robotActions(output.actions, policy: policy), chunk: k)
      let ended = (0..<n).map { i in (0..<k).contains { result.terminated[i * k + $0] || result.truncated[i * k + $0] } }
      let terminated = (0..<n).map { i in (0..<k).contains { result.terminated[i * k + $0] } }
      try buffer.recordEnvironment(
        step: t, rewards: result.rewards, terminated: terminated, truncated: zip(ended, terminated).map { $0 && !$1 })
      // V(final observation), for the environments that ended and were reset in this chunk only.
      let reset = (0..<n).filter { env.finalValid[$0] }
      if policy.valueHead != nil && !reset.isEmpty {
        let rows = try Tensor(reset.map(Int64.init))
        let values = try Autograd.withNoGrad {
          try policy.predictValues(
            images: final.images.indexSelect(dim: 0, index: rows), instructions: reset.map { instructions[$0] },
            state: proprio ? final.state.indexSelect(dim: 0, index: rows) : nil)
        }
        try buffer.recordFinalValues(step: t, envs: reset, values: values)
      }
    }
    if policy.valueHead != nil {
      let bootstrap = try Autograd.withNoGrad {
        try policy.predictValues(images: current.images, instructions: instructions, state: state)
      }
      try buffer.recordBootstrap(values: bootstrap)
    }
    windows += 1
    let episodes = env.drainEpisodes()
    guard !env.config.autoReset else { return episodes }
    // Without partial reset an ended environment keeps reporting its end at every later step;
    // only its first episode is one.
    var seen = Set<Int>()
    return episodes.filter { seen.insert($0.env).inserted }
  }

  /// Policy actions [N, K, 7] (normalised bin centres) -> robot actions in [-1, 1], row-major.
  static func robotActions(_ normalized: Tensor, policy: VLAPolicy) throws -> [Float] {
    let values = try normalized.doubles()
    var actions = [Float](repeating: 0, count: values.count)
    for row in 0..<(values.count / 7) {
      let robot = policy.config.actionStatistics.unnormalize(Array(values[(row * 7)..<((row + 1) * 7)]))
      for d in 0..<7 { actions[row * 7 + d] = Float(max(-1, min(1, robot[d]))) }
    }
    return actions
  }
}
