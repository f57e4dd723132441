import Config
import Dispatch
import Torch

/// Runs rollout windows under a placement:
/// - collocated: on one pinned thread on the shared cores, stage after stage (the baseline);
/// - disaggregated: env and rollout on their own pinned threads, handing the whole batch over
///   through two rings (no overlap, each stage on its own cores);
/// - hybrid: the same threads, handing over one sub-batch at a time, so sub-batch s is simulated
///   while sub-batch s + 1 is inferred.
/// Stage threads live as long as this object.
public final class StagedRollout {
  public let placement: Placement
  private let envThread: StageThread?
  private let rolloutThread: StageThread?
  private let collocatedThread: StageThread?
  private var toEnv: SPSCRing<Handoff>
  private var toRollout: SPSCRing<Handoff>
  /// Busy seconds of each stage in the last window, and hand-off count.
  public private(set) var lastTimes = StageTimes()

  public init(placement: Placement) throws {
    self.placement = placement
    if placement.mode == .collocated {
      // Env and rollout share these cores; the thread carries the rollout's libtorch threads
      // (the simulator runs its own workers).
      collocatedThread = try StageThread(name: "rlinf-collocated", resources: placement.rollout)
      envThread = nil
      rolloutThread = nil
    } else {
      collocatedThread = nil
      envThread = try StageThread(name: "rlinf-env", resources: placement.env)
      rolloutThread = try StageThread(name: "rlinf-rollout", resources: placement.rollout)
    }
    (toEnv, toRollout) = Self.makeRings(subBatches: placement.subBatches)
  }

  /// What setting up the stage threads had to skip (e.g. NUMA binding unavailable).
  public var notes: [String] { [collocatedThread, envThread, rolloutThread].flatMap { $0?.notes ?? [] } }

  /// Room for every sub-batch of a window in flight in each direction.
  static func makeRings(subBatches: Int) -> (SPSCRing<Handoff>, SPSCRing<Handoff>) {
    (SPSCRing(capacity: subBatches), SPSCRing(capacity: subBatches))
  }

  /// Runs one window of `work`.
  public func run(_ work: some RolloutStageWork) throws {
    guard work.subBatches == placement.subBatches else {
      throw PipelineError("the window has \(work.subBatches) sub-batches, the placement \(placement.subBatches)")
    }
    switch placement.mode {
    case .collocated:
      let box = WorkBox(work)
      lastTimes = try collocatedThread!.run { try Self.runCollocated(box.work) }
    case .disaggregated: try runStaged(work, groupSize: work.subBatches)
    case .hybrid: try runStaged(work, groupSize: 1)
    case .auto: throw PipelineError("an automatic placement runs once it is chosen")  // Placement refuses auto
    }
  }

  deinit { shutdown() }

  /// Ends the stage threads; blocked stages end with `RingClosed`.
  public func shutdown() {
    toEnv.close()
    toRollout.close()
    for thread in [collocatedThread, envThread, rolloutThread] { thread?.stop() }
  }

  private static func runCollocated(_ work: some RolloutStageWork) throws -> StageTimes {
    var times = StageTimes()
    for t in 0...work.steps {
      for s in 0..<work.subBatches {
        try times.time(\.rolloutSeconds) { try work.infer(subBatch: s, step: t) }
        if t < work.steps { try times.time(\.envSeconds) { try work.simulate(subBatch: s, step: t) } }
      }
    }
    return times
  }

  /// Both stages on their threads; hand-offs carry groups of `groupSize` sub-batches.
  private func runStaged(_ work: some RolloutStageWork, groupSize: Int) throws {
    let box = WorkBox(work)
    let groups = work.subBatches / groupSize, steps = work.steps
    let toEnv = self.toEnv, toRollout = self.toRollout
    let rolloutTimes = TimesBox(), envTimes = TimesBox()
    func fail(_ error: any Error) -> any Error {
      // The first failure closes both rings, so the other stage stops waiting.
      toEnv.close()
      toRollout.close()
      return error
    }
    rolloutThread!.start {
      do {
        for t in 0...steps {
          for g in 0..<groups {
            if t > 0 { try Self.expect(toRollout.pop(), Handoff(group: g, step: t - 1), from: "env") }
            try rolloutTimes.time(\.rolloutSeconds) {
              for s in (g * groupSize)..<((g + 1) * groupSize) { try box.work.infer(subBatch: s, step: t) }
            }
            if t < steps { try toEnv.push(Handoff(group: g, step: t)) }
          }
        }
      } catch { throw fail(error) }
    }
    envThread!.start {
      do {
        for t in 0..<steps {
          for g in 0..<groups {
            try Self.expect(toEnv.pop(), Handoff(group: g, step: t), from: "rollout")
            try envTimes.time(\.envSeconds) {
              for s in (g * groupSize)..<((g + 1) * groupSize) { try box.work.simulate(subBatch: s, step: t) }
            }
            try toRollout.push(Handoff(group: g, step: t))
          }
        }
      } catch { throw fail(error) }
    }
    let rolloutResult = Result { try rolloutThread!.finish() }
    let envResult = Result { try envThread!.finish() }
    lastTimes = StageTimes(envSeconds: envTimes.value.envSeconds, rolloutSeconds: rolloutTimes.value.rolloutSeconds)
    // Report the stage's own error, not the ring closing it caused in the other stage.
    let errors = [rolloutResult, envResult].compactMap { r -> (any Error)? in if case .failure(let e) = r { e } else { nil } }
    if let error = errors.first(where: { !($0 is RingClosed) }) ?? errors.first {
      (self.toEnv, self.toRollout) = Self.makeRings(subBatches: placement.subBatches)
      throw error
    }
  }

  static func expect(_ got: Handoff, _ wanted: Handoff, from stage: String) throws {
    guard got == wanted else {
      throw PipelineError("out-of-order hand-off from the \(stage) stage: got sub-batch group \(got.group) step \(got.step), expected group \(wanted.group) step \(wanted.step)")
    }
  }
}

/// Seconds each stage spent working (not waiting) in a window.
public struct StageTimes: Sendable {
  public var envSeconds = 0.0
  public var rolloutSeconds = 0.0
  public init(envSeconds: Double = 0, rolloutSeconds: Double = 0) {
    self.envSeconds = envSeconds
    self.rolloutSeconds = rolloutSeconds
  }

  mutating func time(_ field: WritableKeyPath<StageTimes, Double>, _ body: () throws -> Void) rethrows {
    let start = DispatchTime.now().uptimeNanoseconds
    defer { self[keyPath: field] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
    try body()
  }
}

/// The window's work, shared by the two stage threads. Safe because each sub-batch's state is
/// touched by one stage at a time: the ring hand-off (release/acquire) passes it over.
private final class WorkBox<Work: RolloutStageWork>: @unchecked Sendable {
  let work: Work
  init(_ work: Work) { self.work = work }
}

/// One stage's timings, written by that stage's thread and read after `finish()`.
private final class TimesBox: @unchecked Sendable {
  var value = StageTimes()
  func time(_ field: WritableKeyPath<StageTimes, Double>, _ body: () throws -> Void) rethrows {
    try value.time(field, body)
  }
}
