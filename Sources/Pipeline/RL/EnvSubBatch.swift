import Sim
import Torch

/// One pipeline sub-batch of the training environments (`rollout.pipeline_stage_num` of them):
/// its own simulator, the views the policy reads, the slot the actions are written to, its own
/// sampling generator, and the rows it fills in a rollout window. A sub-batch is touched by
/// one stage at a time (the rings pass it between the env and rollout threads).
final class EnvSubBatch {
  let env: any BatchedEnvironment
  /// Its environments' rows in the full batch.
  let rows: Range<Int>
  let wrist: Bool
  /// Sampling noise of this sub-batch alone, so results do not depend on the interleaving.
  let generator: Generator
  /// The action slot: robot actions [R, K, 7] row-major, written by the rollout stage and read
  /// by the env stage; allocated once.
  var actions: [Float]
  /// Instructions of its environments (each keeps its task).
  let instructions: [String]

  init(env: any BatchedEnvironment, rows: Range<Int>, chunk: Int, wrist: Bool, seed: UInt64) throws {
    self.env = env
    self.rows = rows
    self.wrist = wrist
    generator = try Generator(seed: seed)
    actions = Array(repeating: 0, count: rows.count * chunk * 7)
    instructions = env.instructions
  }

  /// What the policy reads, in place: the current observations (views made again after every
  /// step, as the environment may have moved them to its next slot).
  func current() throws -> ObservationViews { try ObservationViews(env: env, wrist: wrist) }

  /// The final observations of the episodes that ended (auto-reset) in the last step.
  func final() throws -> ObservationViews { try ObservationViews(env: env, wrist: wrist, final: true) }

  /// Episodes that ended since the last call, numbered in the full batch.
  func drainEpisodes() -> [EpisodeSummary] {
    env.drainEpisodes().map { $0.offsetting(envBy: rows.lowerBound) }
  }
}
