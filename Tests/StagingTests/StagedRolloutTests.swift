import CSys
import Config
import Foundation
import Staging
import Testing
import Torch

/// Work that records, per sub-batch, the order its stage calls arrive in, and can fail on cue.
final class RecordingWork: RolloutStageWork, @unchecked Sendable {
  let subBatches: Int, steps: Int
  private let lock = NSLock()
  private var events: [[String]]
  var failAt: (subBatch: Int, step: Int)?

  init(subBatches: Int, steps: Int) {
    self.subBatches = subBatches
    self.steps = steps
    events = Array(repeating: [], count: subBatches)
  }

  func infer(subBatch s: Int, step t: Int) throws { lock.withLock { events[s].append("infer \(t)") } }

  func simulate(subBatch s: Int, step t: Int) throws {
    if let f = failAt, f == (s, t) { throw PipelineError("simulator crashed in sub-batch \(s) at step \(t)") }
    lock.withLock { events[s].append("simulate \(t)") }
  }

  var log: [[String]] { lock.withLock { events } }

  /// What every sub-batch must see: infer 0, simulate 0, ..., infer T.
  var expected: [String] { (0..<steps).flatMap { ["infer \($0)", "simulate \($0)"] } + ["infer \(steps)"] }
}

/// A placement for the tests: collocated on all cores, or env and rollout on cores 0 and 1.
func testPlacement(_ mode: PlacementMode, subBatches: Int) throws -> Placement {
  var c = TrainingConfig()
  c.env.train.totalNumEnvs = 4
  c.rollout.pipelineStageNum = subBatches
  c.cluster.placementMode = mode
  if mode != .collocated {
    c.cluster.components = [
      .env: ComponentPlacement(cores: [0], threads: 1), .rollout: ComponentPlacement(cores: [1], threads: 1),
      .actor: ComponentPlacement(),
    ]
  }
  try c.validate()
  return try Placement(config: c)
}

let twoCores = Machine.current().cpus.count >= 2

@Suite struct StagedRolloutTests {
  @Test(.enabled(if: twoCores), arguments: [PlacementMode.collocated, .disaggregated, .hybrid])
  func everySubBatchSeesItsStepsInOrder(mode: PlacementMode) throws {
    let rollout = try StagedRollout(placement: testPlacement(mode, subBatches: 2))
    for _ in 0..<3 {  // the stage threads are reused window after window
      let work = RecordingWork(subBatches: 2, steps: 5)
      try rollout.run(work)
      #expect(work.log == [work.expected, work.expected])
    }
  }

  /// A stage that throws stops the pipeline with its own error (not the ring closing it caused
  /// in the other stage), and the next window runs normally.
  @Test(.enabled(if: twoCores), arguments: [PlacementMode.disaggregated, .hybrid])
  func aFailingStageStopsThePipelineWithItsError(mode: PlacementMode) throws {
    let rollout = try StagedRollout(placement: testPlacement(mode, subBatches: 2))
    let failing = RecordingWork(subBatches: 2, steps: 5)
    failing.failAt = (1, 2)
    #expect(throws: PipelineError.self) { try rollout.run(failing) }
    // The window must fail, and with the failing stage's own error.
    let error = #expect(throws: (any Error).self) { try rollout.run(failing) }
    #expect(error.map { "\($0)".contains("simulator crashed in sub-batch 1 at step 2") } == true)
    let work = RecordingWork(subBatches: 2, steps: 3)
    try rollout.run(work)
    #expect(work.log == [work.expected, work.expected])
  }

  @Test func aWindowWithOtherSubBatchesIsRefused() throws {
    let rollout = try StagedRollout(placement: testPlacement(.collocated, subBatches: 2))
    #expect(throws: PipelineError.self) { try rollout.run(RecordingWork(subBatches: 4, steps: 1)) }
  }

  /// Stage threads run pinned to their cores.
  @Test(.enabled(if: twoCores)) func stageThreadsArePinned() throws {
    let placement = try testPlacement(.hybrid, subBatches: 2)
    let thread = try StageThread(name: "test-rollout", resources: placement.rollout)
    defer { thread.stop() }
    let seen = CoresBox()
    thread.start {
      var cpus = [Int32](repeating: -1, count: 64)
      let n = csys_current_thread_cpus(&cpus, 64)
      seen.cores = cpus.prefix(Int(max(n, 0))).map(Int.init)
      seen.threads = TorchRuntime.threads
    }
    try thread.finish()
    #expect(seen.cores == [1])
    #expect(seen.threads == 1)
  }

  @Test func pinningToAMissingCoreIsAnError() throws {
    let resources = StageResources(component: .env, cores: [100_000], threads: 1, device: "cpu", numaNode: nil)
    #expect(throws: PipelineError.self) { _ = try StageThread(name: "bad", resources: resources) }
  }
}

final class CoresBox: @unchecked Sendable {
  var cores: [Int] = []
  var threads = 0
}
