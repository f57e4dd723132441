import CMuJoCo
import CRender
import Dispatch

/// N tabletop environments stepped together: MuJoCo physics and ray-cast RGB observations for
/// all of them, spread over `config.threads` workers, written into buffers allocated once.
///
/// Actions are [N, 7] floats in [-1, 1]: hand translation (x, y, z; 1 = 2 cm), hand rotation
/// (roll, pitch, yaw; 1 = 0.1 rad) and the jaw (> 0 closes, <= 0 opens). One step is 8 physics
/// substeps of 5 ms: 25 Hz control.
public final class TabletopEnv: BatchedEnvironment, @unchecked Sendable {
  // @unchecked: workers touch disjoint environment ranges of the buffers; the public API is
  // called from one thread at a time.
  public let config: TabletopConfig
  public let numEnvs: Int
  public let imageSize: Int
  /// Floats of proprioceptive state per environment (see EnvInstance.writeState).
  public static let stateSize = 8
  public var stateSize: Int { Self.stateSize }
  public static let actionSize = 7

  /// The task each environment runs.
  public let tasks: [TaskSpec]
  /// Instruction text per environment.
  public var instructions: [String] { tasks.map(\.instruction) }

  // Observation buffers, [N, H, W, 3] uint8 and [N, 8] float, rewritten in place by every step.
  public let rgb: UnsafeMutableBufferPointer<UInt8>
  public let wristRGB: UnsafeMutableBufferPointer<UInt8>?
  public let state: UnsafeMutableBufferPointer<Float>
  // The true last observation of environments that ended and were auto-reset in the last step
  // (valid where finalValid is true).
  public let finalRGB: UnsafeMutableBufferPointer<UInt8>
  public let finalWristRGB: UnsafeMutableBufferPointer<UInt8>?
  public let finalState: UnsafeMutableBufferPointer<Float>
  public let finalValid: UnsafeMutableBufferPointer<Bool>
  // Results of the last `step`, [N].
  public let rewards: UnsafeMutableBufferPointer<Float>
  public let terminated: UnsafeMutableBufferPointer<Bool>
  public let truncated: UnsafeMutableBufferPointer<Bool>
  public let success: UnsafeMutableBufferPointer<Bool>

  /// Environments reset because their physics diverged (NaN, MuJoCo error) since creation.
  public private(set) var divergenceCount = 0
  /// Episodes that ended since the last `drainEpisodes()`.
  private var finished: [EpisodeSummary] = []

  let instances: [EnvInstance]
  let renderer: any BatchRenderer
  /// The renderer in use, e.g. "vulkan (llvmpipe ...)" or "cpu".
  public var rendererName: String { renderer.name }
  private let primitives: UnsafeMutableBufferPointer<RcPrimitive>
  private let primitiveCounts: UnsafeMutableBufferPointer<Int32>
  private let views: UnsafeMutableBufferPointer<RcView>
  private let wristViews: UnsafeMutableBufferPointer<RcView>
  private var returns: [Double]
  private var diverged: [Bool]
  static let maxPrimitives = 32

  public init(config: TabletopConfig) throws {
    try config.validate()
    self.config = config
    numEnvs = config.numEnvs
    imageSize = config.imageSize
    let specs = try config.tasks.isEmpty ? config.split.defaultTasks : config.tasks.map(TaskCatalog.named)
    var models: [String: TaskModel] = [:]
    var instances: [EnvInstance] = []
    for i in 0..<numEnvs {
      let spec = specs[i % specs.count]
      let model = try models[spec.name] ?? TaskModel(task: spec)
      models[spec.name] = model
      instances.append(try EnvInstance(
        taskModel: model, split: config.split, reachReward: config.reachReward, distractorColors: config.distractorColors?.compactMap(Palette.named),
        randomizeAppearance: config.randomizeAppearance, maxDistractors: config.maxDistractors, startSpread: config.startSpread))
    }
    self.instances = instances
    tasks = instances.map(\.task)
    // Before any buffer is allocated: a renderer that cannot be made fails the init, and a
    // class whose init fails before all its properties are set gets no deinit to free them.
    let rendererMade = try makeRenderer(
      config.renderer, maxEnvs: numEnvs, maxPrimitives: Self.maxPrimitives, side: imageSize, deviceIndex: config.vulkanDevice)

    let pixels = numEnvs * imageSize * imageSize * 3
    func buffer<T>(_ count: Int, _ value: T) -> UnsafeMutableBufferPointer<T> {
      let b = UnsafeMutableBufferPointer<T>.allocate(capacity: count)
      b.initialize(repeating: value)
      return b
    }
    rgb = buffer(pixels, 0)
    wristRGB = config.wristCamera ? buffer(pixels, 0) : nil
    state = buffer(numEnvs * Self.stateSize, 0)
    finalRGB = buffer(pixels, 0)
    finalWristRGB = config.wristCamera ? buffer(pixels, 0) : nil
    finalState = buffer(numEnvs * Self.stateSize, 0)
    finalValid = buffer(numEnvs, false)
    rewards = buffer(numEnvs, 0)
    terminated = buffer(numEnvs, false)
    truncated = buffer(numEnvs, false)
    success = buffer(numEnvs, false)
    primitives = .allocate(capacity: numEnvs * Self.maxPrimitives)
    primitiveCounts = buffer(numEnvs, 0)
    views = .allocate(capacity: numEnvs)
    wristViews = .allocate(capacity: numEnvs)
    returns = Array(repeating: 0, count: numEnvs)
    diverged = Array(repeating: false, count: numEnvs)
    renderer = rendererMade
    try reset(stateIDs: Array(0..<numEnvs))
  }

  deinit {
    for b in [rgb, finalRGB] { b.deallocate() }
    wristRGB?.deallocate()
    finalWristRGB?.deallocate()
    state.deallocate(); finalState.deallocate(); finalValid.deallocate()
    rewards.deallocate(); terminated.deallocate(); truncated.deallocate(); success.deallocate()
    primitives.deallocate(); primitiveCounts.deallocate(); views.deallocate(); wristViews.deallocate()
  }

  // MARK: reset

  /// Resets every environment from its own seed (the same seed gives the same episode).
  public func reset(seeds: [UInt64]) throws {
    guard seeds.count == numEnvs else {
      throw SimError.badActions("reset(seeds:) needs \(numEnvs) seeds, got \(seeds.count)")
    }
    try run { i in
      self.instances[i].reset(seed: seeds[i])
      self.returns[i] = 0
    }
    clearStepResults()
  }

  /// Resets every environment to a reset state: environments given the same id (a GRPO group)
  /// start from the identical state.
  public func reset(stateIDs: [Int]) throws {
    try reset(seeds: stateIDs.map { SplitMix.mix(config.seed, UInt64(bitPattern: Int64($0))) })
  }

  private func clearStepResults() {
    for i in 0..<numEnvs {
      rewards[i] = 0
      terminated[i] = false
      truncated[i] = false
      success[i] = instances[i].isSuccess()
      finalValid[i] = false
    }
  }

  // MARK: stepping

  /// One control step of every environment with actions [N, 7].
  public func step(_ actions: UnsafeBufferPointer<Float>) throws {
    try validate(actions, chunk: 1)
    let source = Shared(UnsafeMutablePointer(mutating: actions.baseAddress!))
    try run { i in self.advance(i, source.pointer + i * Self.actionSize) }
    try finishEpisodes()
  }

  public func step(_ actions: [Float]) throws {
    try actions.withUnsafeBufferPointer { try step($0) }
  }

  /// Applies K actions per environment ([N, K, 7]) in order. An environment that is done within
  /// the chunk stops there (later entries: reward 0, done repeated); auto-reset happens after the
  /// chunk, so observations and the final-observation buffers are as for one `step`.
  public func stepChunk(_ actions: UnsafeBufferPointer<Float>, chunk: Int) throws -> ChunkResult {
    try validate(actions, chunk: chunk)
    let count = numEnvs * chunk
    let r = Shared(UnsafeMutablePointer<Float>.allocate(capacity: count))
    let te = Shared(UnsafeMutablePointer<Bool>.allocate(capacity: count))
    let tr = Shared(UnsafeMutablePointer<Bool>.allocate(capacity: count))
    let su = Shared(UnsafeMutablePointer<Bool>.allocate(capacity: count))
    defer { r.pointer.deallocate(); te.pointer.deallocate(); tr.pointer.deallocate(); su.pointer.deallocate() }
    let source = Shared(UnsafeMutablePointer(mutating: actions.baseAddress!))
    try run { i in
      for k in 0..<chunk {
        let at = i * chunk + k
        if k > 0 && (self.terminated[i] || self.truncated[i]) {
          (r.pointer[at], te.pointer[at], tr.pointer[at], su.pointer[at]) = (0, self.terminated[i], self.truncated[i], self.success[i])
          continue
        }
        self.advance(i, source.pointer + at * Self.actionSize)
        (r.pointer[at], te.pointer[at], tr.pointer[at], su.pointer[at]) = (self.rewards[i], self.terminated[i], self.truncated[i], self.success[i])
      }
    }
    try finishEpisodes()
    let result = ChunkResult(
      rewards: Array(UnsafeBufferPointer(start: r.pointer, count: count)),
      terminated: Array(UnsafeBufferPointer(start: te.pointer, count: count)),
      truncated: Array(UnsafeBufferPointer(start: tr.pointer, count: count)),
      success: Array(UnsafeBufferPointer(start: su.pointer, count: count)))
    return result
  }

  public func stepChunk(_ actions: [Float], chunk: Int) throws -> ChunkResult {
    try actions.withUnsafeBufferPointer { try stepChunk($0, chunk: chunk) }
  }

  private func validate(_ actions: UnsafeBufferPointer<Float>, chunk: Int) throws {
    guard chunk >= 1 else { throw SimError.badActions("chunk size must be at least 1 (got \(chunk))") }
    let expected = numEnvs * chunk * Self.actionSize
    guard actions.count == expected else {
      throw SimError.badActions("expected [\(numEnvs), \(chunk == 1 ? "" : "\(chunk), ")\(Self.actionSize)] = \(expected) floats, got \(actions.count)")
    }
    for (index, value) in actions.enumerated() where !(value.isFinite && Swift.abs(value) <= 1.000001) {
      let env = index / (chunk * Self.actionSize), dim = index % Self.actionSize
      throw SimError.badActions("env \(env), action dimension \(dim) is \(value): actions must be finite and in [-1, 1]")
    }
  }

  /// Advances environment i one control step and records reward, success and done flags.
  private func advance(_ i: Int, _ action: UnsafePointer<Float>) {
    let env = instances[i]
    if !env.advance(action: action) {
      // Diverged: the episode ends (truncated) and the environment restarts from a clean state.
      diverged[i] = true
      env.reset(seed: SplitMix.mix(env.seed, 0xD1)) 
      (rewards[i], terminated[i], truncated[i], success[i]) = (0, false, true, false)
      return
    }
    let grasped = env.isGrasped()
    let streak = env.graspStreak
    env.graspStreak = grasped ? env.graspStreak + 1 : 0
    let succeeded = env.isSuccess()
    env.successOnce = env.successOnce || succeeded
    env.recordTrace(wasHolding: streak)
    if config.shapedReward {
      let potential = env.shapedPotential(grasped: grasped, reach: env.reachReward)
      rewards[i] = Float(potential - env.potential)
      env.potential = potential
    } else {
      rewards[i] = succeeded ? 1 : 0
    }
    returns[i] += Double(rewards[i])
    success[i] = succeeded
    terminated[i] = succeeded && !config.ignoreTerminations
    truncated[i] = !terminated[i] && env.step >= (config.maxEpisodeSteps ?? env.task.maxEpisodeSteps)
  }

  /// Runs `body` for every environment on the workers, then captures and renders the batch.
  private func run(_ body: @escaping @Sendable (Int) -> Void) throws {
    let perWorker = renderer.rendersPerWorker
    parallel { range in
      for i in range { body(i) }
      self.capture(range)
      // Per-worker renderers (CPU, none) cannot fail.
      if perWorker { try? self.render(range) }
    }
    if !perWorker { try render(0..<numEnvs) }
  }

  /// Writes primitives, views and state of a range of environments.
  private func capture(_ range: Range<Int>) {
    for i in range {
      let env = instances[i]
      primitiveCounts[i] = Int32(env.writePrimitives(primitives.baseAddress! + i * Self.maxPrimitives, capacity: Self.maxPrimitives))
      views[i] = env.thirdPersonView(aspect: 1)
      if wristRGB != nil { wristViews[i] = env.wristView(aspect: 1) }
      env.writeState(state.baseAddress! + i * Self.stateSize)
    }
  }

  private func render(_ range: Range<Int>) throws {
    let batch = RenderBatch(
      primitives: primitives.baseAddress!, counts: primitiveCounts.baseAddress!, views: views.baseAddress!,
      maxPrimitives: Self.maxPrimitives, side: imageSize)
    if config.thirdPersonCamera { try renderer.render(batch, range: range, into: rgb.baseAddress!) }
    if let wristRGB {
      let wrist = RenderBatch(
        primitives: primitives.baseAddress!, counts: primitiveCounts.baseAddress!, views: wristViews.baseAddress!,
        maxPrimitives: Self.maxPrimitives, side: imageSize)
      try renderer.render(wrist, range: range, into: wristRGB.baseAddress!)
    }
  }

  /// Records finished episodes and, with auto-reset, keeps their final observation, starts the
  /// next episode and observes it.
  private func finishEpisodes() throws {
    let imageBytes = imageSize * imageSize * 3
    finalValid.update(repeating: false)
    for i in 0..<numEnvs {
      if diverged[i] {
        divergenceCount += 1
        diverged[i] = false
      }
      guard terminated[i] || truncated[i] else { continue }
      let env = instances[i]
      finished.append(EpisodeSummary(
        env: i, task: env.task.name, successOnce: env.successOnce, successAtEnd: success[i],
        episodeReturn: returns[i], length: env.step))
      guard config.autoReset else { continue }
      if config.thirdPersonCamera {
        (finalRGB.baseAddress! + i * imageBytes).update(from: rgb.baseAddress! + i * imageBytes, count: imageBytes)
      }
      if let finalWristRGB, let wristRGB {
        (finalWristRGB.baseAddress! + i * imageBytes).update(from: wristRGB.baseAddress! + i * imageBytes, count: imageBytes)
      }
      (finalState.baseAddress! + i * Self.stateSize).update(from: state.baseAddress! + i * Self.stateSize, count: Self.stateSize)
      finalValid[i] = true
      env.reset(seed: SplitMix.mix(env.seed, 1))
      returns[i] = 0
      capture(i..<(i + 1))
      try render(i..<(i + 1))
    }
  }

  /// Episodes that ended since the last call, in environment order per step.
  public func drainEpisodes() -> [EpisodeSummary] {
    defer { finished.removeAll(keepingCapacity: true) }
    return finished
  }

  /// Renders the current state again without stepping (for benchmarks of the renderer alone).
  public func rerender() throws {
    if renderer.rendersPerWorker {
      parallel { range in try? self.render(range) }
    } else {
      try render(0..<numEnvs)
    }
  }

  // MARK: queries

  /// Steps taken in environment i's current episode.
  public func episodeStep(_ i: Int) -> Int { instances[i].step }
  /// What has happened to environment i's target so far this episode.
  public func trace(_ i: Int) -> EpisodeTrace { instances[i].trace }
  /// The other objects environment i's episode has grasped so far, as "colour shape" ("green cube").
  public func graspedOtherObjects(_ i: Int) -> [String] {
    let e = instances[i]
    return e.taskModel.layout.movables.indices.filter { e.trace.graspedOtherSlots & (1 << $0) != 0 }.map(e.objectDescription)
  }
  /// Whether environment i's current episode has succeeded at some step.
  public func successOnce(_ i: Int) -> Bool { instances[i].successOnce }
  /// The seed environment i's current episode started from.
  public func episodeSeed(_ i: Int) -> UInt64 { instances[i].seed }

  /// Runs `body` over `config.threads` contiguous ranges of environments in parallel.
  private func parallel(_ body: @escaping @Sendable (Range<Int>) -> Void) {
    let workers = min(config.threads, numEnvs)
    if workers == 1 { return body(0..<numEnvs) }
    DispatchQueue.concurrentPerform(iterations: workers) { w in
      body((w * numEnvs / workers)..<((w + 1) * numEnvs / workers))
    }
  }
}

/// A pointer handed to parallel workers that each touch a disjoint range of it.
struct Shared<T>: @unchecked Sendable {
  let pointer: UnsafeMutablePointer<T>
  init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}
