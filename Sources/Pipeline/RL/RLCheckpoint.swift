import Checkpoints
import Foundation
import Models
import Torch

/// What an RL checkpoint holds, and how a run is put back from one. A checkpoint folder is also a
/// plain VLA checkpoint (`model.safetensors`, `config.json`, `tokenizer.model`), so evaluation
/// and `model_path` read it directly; next to those:
/// - `optimizer.safetensors`: AdamW's moments, per-parameter step counts in its metadata;
/// - `rng.safetensors`: every sampling generator's state (`sub_batch.S`; with data-parallel
///   ranks each rank's, `rank.R.sub_batch.S`);
/// - `run_state.json`: iteration, environment steps, windows collected, updates, weight version;
/// - `job.yaml`: the config the job was started from, with the live changes listed after it.
enum RLCheckpoint {
  static let optimizerFile = "optimizer.safetensors"
  static let rngFile = "rng.safetensors"
  static let stateFile = "run_state.json"
  static let configFile = "job.yaml"

  struct RunState: Codable {
    var iteration: Int
    var environmentSteps: Int
    var windowsCollected: Int
    var trainerUpdates: Int
    var weightVersion: Int
    /// Ranks of the job that wrote it (absent in checkpoints of single-process jobs).
    var worldSize: Int?
  }

  /// The name of a sub-batch's generator state in rng.safetensors.
  static func generatorName(rank: Int?, subBatch s: Int) -> String { rank.map { "rank.\($0).sub_batch.\(s)" } ?? "sub_batch.\(s)" }

  /// Copies the run's state into memory (the only part that holds training up).
  static func snapshot(_ run: RLRun, evalSuccess: Double?) throws -> CheckpointSnapshot {
    var files = try VLACheckpoint.files(run.policy)
    let optimizer = try run.trainer.optimizer.exportState()
    let steps = String(decoding: try JSONEncoder().encode(optimizer.steps), as: UTF8.self)
    files[optimizerFile] = try SafeTensorsWriter.encode(optimizer.tensors, metadata: ["steps": steps])
    var generators: [String: Tensor] = [:]
    for (s, part) in run.collector.parts.enumerated() {
      let state = try part.generator.state()
      if let group = run.group {
        let all = try group.allGather(state, "all-gather of generator states for a checkpoint")
        for (r, t) in all.enumerated() { generators[generatorName(rank: r, subBatch: s)] = t }
      } else {
        generators[generatorName(rank: nil, subBatch: s)] = state
      }
    }
    files[rngFile] = try SafeTensorsWriter.encode(generators)
    let state = RunState(
      iteration: run.iteration, environmentSteps: run.environmentSteps, windowsCollected: run.collector.windowsCollected,
      trainerUpdates: run.trainer.updates, weightVersion: run.weightSync.version, worldSize: run.group?.worldSize)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    files[stateFile] = Array(try encoder.encode(state))
    if let text = run.configText {
      let changes = run.liveChanges.map { "#   \($0.key) = \($0.value)\n" }.joined()
      files[configFile] = Array((text + (changes.isEmpty ? "" : "\n# live changes since the start (rlinfctl set):\n" + changes)).utf8)
    }
    return CheckpointSnapshot(step: run.iteration, files: files, evalSuccess: evalSuccess)
  }

  /// Puts the optimizer, generators and counters of `directory` back into `run` (whose policy
  /// was loaded from the same folder).
  static func restore(_ run: RLRun, from directory: String) throws {
    do {
      let optimizer = try SafeTensorsFile(path: directory + "/" + optimizerFile)
      let steps = try JSONDecoder().decode([String: Int].self, from: Data((optimizer.metadata["steps"] ?? "{}").utf8))
      try run.trainer.optimizer.importState(AdamW.State(tensors: optimizer.tensors(), steps: steps))
      guard let data = FileManager.default.contents(atPath: directory + "/" + stateFile) else {
        throw CheckpointError("it has no \(stateFile)")
      }
      let state = try JSONDecoder().decode(RunState.self, from: data)
      let written = state.worldSize ?? 1, world = run.group?.worldSize ?? 1
      guard written == world else {
        throw CheckpointError("it was written by a job of \(written) rank(s) and this one has \(world): resume it with cluster.world_size \(written)")
      }
      let rng = try SafeTensorsFile(path: directory + "/" + rngFile)
      for (s, part) in run.collector.parts.enumerated() {
        let name = generatorName(rank: run.group?.rank, subBatch: s)
        guard rng.names.contains(name) else {
          throw CheckpointError("it has no generator state \(name) (was it written with another rollout.pipeline_stage_num?)")
        }
        try part.generator.restore(rng.tensor(name))
      }
      run.restore(state)
    } catch {
      throw CheckpointError("cannot resume from \(directory): \(error)")
    }
  }
}
