import Staging
import Synchronization
import Pipeline

/// Balanced synthetic stages: every environment costs the same fixed CPU work in the env stage
/// and in the rollout stage, whatever the sub-batching, so only the schedule differs between
/// modes. The work is serial arithmetic (like a simulator stepping its environments one by one).
final class SyntheticStages: RolloutStageWork, @unchecked Sendable {
  let subBatches: Int, steps: Int
  let envsPerSubBatch: Int
  let envUnits: Int, rolloutUnits: Int
  private(set) var sink = 0.0

  init(envs: Int, subBatches: Int, steps: Int, envUnits: Int, rolloutUnits: Int) {
    self.subBatches = subBatches
    self.steps = steps
    envsPerSubBatch = envs / subBatches
    self.envUnits = envUnits
    self.rolloutUnits = rolloutUnits
  }

  func infer(subBatch s: Int, step t: Int) throws {
    if t < steps { sink += burn(rolloutUnits * envsPerSubBatch) }
  }

  func simulate(subBatch s: Int, step t: Int) throws { sink += burn(envUnits * envsPerSubBatch) }
}

/// `units` steps of a dependent floating-point recurrence (cannot be vectorised or skipped).
/// It publishes its result to a global, so the optimiser can neither drop a call nor move it
/// across the clock reads around it.
@inline(never) func burn(_ units: Int) -> Double {
  var x = 0.5
  for _ in 0..<units { x = x * 3.7 * (1 - x) }
  burnResult.store(x.bitPattern, ordering: .relaxed)
  return x
}

nonisolated(unsafe) let burnResult = Atomic<UInt64>(0)
