import Config
import Foundation
import Staging

/// The automatic choice of a run, kept in its folder (`auto_placement.json`): a resumed run
/// places its stages as the run's start chose, since the number of env sub-batches decides
/// which generator states its checkpoints hold.
struct AutoPlacementRecord: Codable, Equatable {
  struct Stage: Codable, Equatable {
    var cores: [Int]?
    var threads: Int?
    var device: String
  }
  var label: String
  var placementMode: String
  var pipelineStageNum: Int
  var env: Stage
  var rollout: Stage
  var actor: Stage

  static let fileName = "auto_placement.json"

  init(label: String, config: TrainingConfig) {
    func stage(_ c: Component) -> Stage {
      let p = config.cluster.placement(of: c)
      return Stage(cores: p.cores, threads: p.threads, device: p.device)
    }
    self.label = label
    placementMode = config.placementMode.rawValue
    pipelineStageNum = config.rollout.pipelineStageNum
    (env, rollout, actor) = (stage(.env), stage(.rollout), stage(.actor))
  }

  /// `config` placed as recorded; a record that does not fit it is an error naming the file.
  func applied(to config: TrainingConfig, path: String) throws -> TrainingConfig {
    guard let mode = PlacementMode(rawValue: placementMode), mode != .auto else {
      throw ConfigError("cluster.placement_mode", "\(path) records the mode \"\(placementMode)\"; delete it to measure again")
    }
    var c = config
    c.cluster.placementMode = mode
    c.rollout.pipelineStageNum = pipelineStageNum
    for (component, s) in [(Component.env, env), (.rollout, rollout), (.actor, actor)] {
      c.cluster.components[component] = ComponentPlacement(cores: s.cores, threads: s.threads, device: s.device)
    }
    do {
      try c.validate()
      _ = try Placement(config: c)
    } catch {
      throw ConfigError("cluster.placement_mode", "the automatic placement recorded in \(path) no longer fits (\(error)); delete the file to measure again")
    }
    return c
  }
}

extension AutoPlacement {
  /// The placement a run uses: `config` itself unless its mode is auto; for auto, the choice
  /// recorded in `directory` when resuming, otherwise a fresh measurement (recorded there).
  /// Returns the lines to log.
  static func resolve(
    _ config: TrainingConfig, directory: String, resume: Bool, progress: (String) -> Void
  ) throws -> (config: TrainingConfig, report: [String]) {
    guard config.placementMode == .auto else { return (config, []) }
    let config = config.resolvingLocalRankDevices  // an actor on cuda:local_rank
    let path = directory + "/" + AutoPlacementRecord.fileName
    if resume, let data = FileManager.default.contents(atPath: path) {
      let record: AutoPlacementRecord
      do {
        record = try JSONDecoder().decode(AutoPlacementRecord.self, from: data)
      } catch {
        throw ConfigError("cluster.placement_mode", "\(path) is not an automatic placement record (\(error)); delete it to measure again")
      }
      return (try record.applied(to: config, path: path), ["kept the placement chosen when the run started (\(path)): \(record.label)"])
    }
    let choice = try choose(config, progress: progress)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let record = AutoPlacementRecord(label: choice.chosen.label, config: choice.config)
    // Written whole then renamed: a crash leaves the old record or none, never half of one.
    let temporary = path + ".tmp"
    try encoder.encode(record).write(to: URL(fileURLWithPath: temporary))
    guard rename(temporary, path) == 0 else {
      throw ConfigError("cluster.placement_mode", "cannot record the automatic placement at \(path): \(String(cString: strerror(errno)))")
    }
    return (choice.config, choice.report)
  }
}
