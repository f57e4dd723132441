import Models
import RL
import Sim
import Torch

/// Rolls a policy out in the embedded simulator and measures success: every environment runs
/// one episode (its first), the policy acting on the observation buffers without copying them.
public enum ClosedLoopEvaluation {
  /// The embedded simulator's evaluation splits (`env.eval.split`).
  public static let splitNames = Split.allCases.map(\.rawValue)

  /// One task's episodes: how many succeeded at some step (success_once) and at their end.
  public struct TaskOutcome: Sendable, Codable {
    public var successes = 0
    public var successesAtEnd = 0
    public var episodes = 0
    /// Episodes per outcome (embedded simulator only: the Python benchmarks report none).
    public var outcomes: [EpisodeOutcome: Int] = [:]
    /// Episodes whose target was outside the policy's camera view at the start (embedded only).
    public var targetOutOfViewAtStart = 0
    /// Wrong-object failures by the object grasped ("green cube": 3), embedded only.
    public var wrongObjects: [String: Int] = [:]
    public init(successes: Int = 0, successesAtEnd: Int = 0, episodes: Int = 0) {
      self.successes = successes
      self.successesAtEnd = successesAtEnd
      self.episodes = episodes
    }
  }

  public struct Result: Sendable, Codable {
    public let perTask: [String: TaskOutcome]
    public init(perTask: [String: TaskOutcome]) { self.perTask = perTask }

    /// The results of disjoint sets of episodes (the shards of one evaluation) as one.
    public static func merged(_ parts: [Result]) -> Result {
      var perTask: [String: TaskOutcome] = [:]
      for part in parts {
        for (task, o) in part.perTask {
          var sum = perTask[task] ?? TaskOutcome()
          sum.successes += o.successes
          sum.successesAtEnd += o.successesAtEnd
          sum.episodes += o.episodes
          sum.targetOutOfViewAtStart += o.targetOutOfViewAtStart
          sum.outcomes.merge(o.outcomes, uniquingKeysWith: +)
          sum.wrongObjects.merge(o.wrongObjects, uniquingKeysWith: +)
          perTask[task] = sum
        }
      }
      return Result(perTask: perTask)
    }
    /// Episodes over all tasks.
    public var episodes: Int { perTask.values.reduce(0) { $0 + $1.episodes } }
    /// success_once over all tasks.
    public var successRate: Double { rate(of: \.successes) }
    /// success_at_end over all tasks.
    public var successAtEndRate: Double { rate(of: \.successesAtEnd) }

    private func rate(of count: KeyPath<TaskOutcome, Int>) -> Double {
      episodes == 0 ? 0 : Double(perTask.values.reduce(0) { $0 + $1[keyPath: count] }) / Double(episodes)
    }
  }

  /// The part of an evaluation one rank of a job runs: shard `index` of `count` takes the
  /// `index`-th contiguous slice of the environments, each with the reset state it has in the
  /// whole evaluation, so the shards' results merge into the whole evaluation's.
  public struct Shard: Sendable {
    public var index: Int
    public var count: Int
    public static let whole = Shard(index: 0, count: 1)
    public init(index: Int, count: Int) {
      self.index = index
      self.count = count
    }

    /// This shard's environments of `n`.
    func range(of n: Int) -> Range<Int> { (index * n / count)..<((index + 1) * n / count) }
  }

  /// `episodesPerTask` episodes of each task, reset-state ids from `seed`; with `shard`, only
  /// that shard's episodes. With `video`, a GIF of the first four environments is written there
  /// (by shard 0). The policy's batch is split over `work`'s workers (each sampling with its own
  /// generator, so sampled results depend on their number).
  public static func run(
    policy: VLAPolicy, tasks: [String], episodesPerTask: Int, split: Split = .inDistribution, seed: UInt64 = 1000,
    threads: Int = 2, sampling: SamplingSettings = SamplingSettings(greedy: true), wristCamera: Bool = false,
    maxEpisodeSteps: Int? = nil, video: String? = nil, work: ParallelWork = SerialWork(), shard: Shard = .whole
  ) throws -> Result {
    let everyEpisode = tasks.flatMap { Array(repeating: $0, count: episodesPerTask) }
    let mine = shard.range(of: everyEpisode.count)
    guard !mine.isEmpty else { return Result(perTask: [:]) }
    let video = shard.index == 0 ? video : nil
    var config = TabletopConfig()
    config.tasks = Array(everyEpisode[mine])
    config.numEnvs = config.tasks.count
    config.split = split
    config.imageSize = policy.config.imageSize
    config.threads = threads
    config.seed = seed
    config.autoReset = false
    config.wristCamera = wristCamera
    config.thirdPersonCamera = !wristCamera || video != nil  // the video shows both cameras
    config.maxEpisodeSteps = maxEpisodeSteps
    let env = try TabletopEnv(config: config)
    if mine.lowerBound > 0 { try env.reset(stateIDs: Array(mine)) }  // the states of the whole evaluation
    // The policy sees one camera: the third-person view, or the wrist view.
    let observed = try ObservationViews(env: env, wrist: wristCamera)
    let state = policy.config.proprioDim > 0 ? observed.state : nil
    let instructions = env.instructions
    let actor = try ShardedActor(policy: policy, sampling: sampling, seed: seed, work: work)
    return try episodes(env: env, chunk: policy.config.numActionChunks, wristCamera: wristCamera, video: video) {
      try actor.actions(images: observed.images, instructions: instructions, state: state)
    }
  }

  /// Every environment's first episode, acting with `act` (actions [N, K, 7] for the current
  /// state), tallied per task.
  static func episodes(env: TabletopEnv, chunk: Int, wristCamera: Bool, video: String?, act: () throws -> [Float]) throws -> Result {
    let n = env.numEnvs
    var outcome = [Bool?](repeating: nil, count: n)
    var atEnd = [Bool](repeating: false, count: n)
    var traces = [EpisodeTrace](repeating: EpisodeTrace(), count: n)
    var grasped = [[String]](repeating: [], count: n)
    var film = video.map { _ in EnvFilm(env: env, environments: 4) }
    film?.capture()
    while outcome.contains(where: { $0 == nil }) {
      _ = try env.stepChunk(try act(), chunk: chunk)
      film?.capture()
      for i in 0..<n where outcome[i] == nil && (env.terminated[i] || env.truncated[i]) {
        outcome[i] = env.successOnce(i)
        atEnd[i] = env.success[i]
        traces[i] = env.trace(i)  // before later steps (episodes are not reset here) add to it
        grasped[i] = env.graspedOtherObjects(i)
      }
    }
    if let video { try film?.write(to: video) }
    var perTask: [String: TaskOutcome] = [:]
    for (i, task) in env.tasks.enumerated() {
      perTask[task.name, default: TaskOutcome()].successes += outcome[i]! ? 1 : 0
      perTask[task.name, default: TaskOutcome()].successesAtEnd += atEnd[i] ? 1 : 0
      perTask[task.name, default: TaskOutcome()].episodes += 1
      let kind = EpisodeOutcome(success: outcome[i]!, trace: traces[i], wrist: wristCamera)
      perTask[task.name]!.outcomes[kind, default: 0] += 1
      if kind == .wrongObject { for object in grasped[i] { perTask[task.name]!.wrongObjects[object, default: 0] += 1 } }
      let inView = wristCamera ? traces[i].targetInWristViewAtStart : traces[i].targetInThirdPersonViewAtStart
      if !inView { perTask[task.name]!.targetOutOfViewAtStart += 1 }
    }
    return Result(perTask: perTask)
  }
}

extension ClosedLoopEvaluation {
  /// Evaluation on a Python benchmark: one worker per spec (a task each), every environment's
  /// first episode counted (workers reset ended episodes themselves; later ones are ignored).
  public static func run(policy: VLAPolicy, workers specs: [WorkerSpec], sampling: SamplingSettings, wristCamera: Bool, seed: UInt64) throws -> Result {
    var perTask: [String: TaskOutcome] = [:]
    let actor = try ShardedActor(policy: policy, sampling: sampling, seed: seed, work: SerialWork())
    let chunk = policy.config.numActionChunks
    for spec in specs {
      let env = try WorkerEnvironment(spec: spec)
      try env.reset(stateIDs: Array(0..<env.numEnvs))
      var outcome = [EpisodeSummary?](repeating: nil, count: env.numEnvs)
      while outcome.contains(where: { $0 == nil }) {
        let observed = try ObservationViews(env: env, wrist: wristCamera)  // this step's slot
        let state = policy.config.proprioDim > 0 ? observed.state : nil
        let actions = try actor.actions(images: observed.images, instructions: env.instructions, state: state)
        _ = try actions.withUnsafeBufferPointer { try env.stepChunk($0, chunk: chunk) }
        for episode in env.drainEpisodes() where outcome[episode.env] == nil { outcome[episode.env] = episode }
        guard env.failures.isEmpty else { throw SimError.worker("evaluation of \(spec.task) lost its worker: \(env.failures[0])") }
      }
      perTask[spec.task, default: TaskOutcome()].successes += outcome.filter { $0?.successOnce == true }.count
      perTask[spec.task, default: TaskOutcome()].successesAtEnd += outcome.filter { $0?.successAtEnd == true }.count
      perTask[spec.task, default: TaskOutcome()].episodes += env.numEnvs
    }
    return Result(perTask: perTask)
  }
}

/// Inference for evaluation: a batch's rows split over the workers, each sampling with its own
/// generator (worker 0's is seeded with `seed`), the robot actions [N, K, 7] gathered in order.
final class ShardedActor: @unchecked Sendable {
  // @unchecked: each worker writes only its own slot of `shards`.
  let policy: VLAPolicy
  let sampling: SamplingSettings
  let work: ParallelWork
  let generators: [Generator]
  private var shards: [[Float]]

  init(policy: VLAPolicy, sampling: SamplingSettings, seed: UInt64, work: ParallelWork) throws {
    self.policy = policy
    self.sampling = sampling
    self.work = work
    generators = try (0..<work.width).map { try Generator(seed: seed &+ UInt64($0)) }
    shards = Array(repeating: [], count: work.width)
  }

  func actions(images: Tensor, instructions: [String], state: Tensor?) throws -> [Float] {
    let n = instructions.count, w = min(work.width, n)
    try work.onEachWorker { [self] i in
      guard i < w else { return }
      let (start, end) = (i * n / w, (i + 1) * n / w)
      func rows(_ t: Tensor) throws -> Tensor { try t.slice(dim: 0, start: start, end: end) }
      let output = try Autograd.withNoGrad {
        try policy.act(images: rows(images), instructions: Array(instructions[start..<end]), state: state.map(rows), sampling: sampling, generator: generators[i])
      }
      var slot = [Float](repeating: 0, count: (end - start) * policy.config.numActionChunks * 7)
      try RolloutCollector.writeRobotActions(output.actions, policy: policy, into: &slot)
      shards[i] = slot
    }
    return shards.prefix(w).flatMap { $0 }
  }
}
