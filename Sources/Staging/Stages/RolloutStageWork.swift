/// The work of one rollout window, cut by stage and env sub-batch, for a `StagedRollout` to
/// schedule. For every sub-batch s the order is fixed: infer(s, 0), simulate(s, 0), infer(s, 1),
/// ..., simulate(s, T - 1), infer(s, T). Sub-batches are independent of each other, so any
/// interleaving of them gives the same results: the placement mode changes speed, never data.
public protocol RolloutStageWork: AnyObject {
  /// Env sub-batches (`rollout.pipeline_stage_num`).
  var subBatches: Int { get }
  /// Chunk steps in the window (T).
  var steps: Int { get }
  /// Rollout stage. For t < T: choose sub-batch s's actions for step t (they go to its action
  /// slot). At t == T: the values after the window (bootstrap). Runs on the rollout stage's thread.
  func infer(subBatch s: Int, step t: Int) throws
  /// Env stage: step sub-batch s's environments with the actions of step t. Runs on the env
  /// stage's thread.
  func simulate(subBatch s: Int, step t: Int) throws
}

/// "Sub-batches `group` of step `step` are ready", sent through the rings. The data itself sits
/// in each sub-batch's preallocated observation and action slots.
struct Handoff: Equatable {
  var group: Int
  var step: Int
}
