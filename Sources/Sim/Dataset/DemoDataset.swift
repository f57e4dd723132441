import Foundation
import SafeTensors

/// Demonstrations for supervised fine-tuning, recorded from the scripted experts.
///
/// File format (`*.demos.safetensors`): a safetensors file, so PyTorch, numpy and the Torch
/// module read it directly (zero-copy). T is the total number of recorded steps.
///
/// | tensor          | dtype | shape          | meaning                                          |
/// |-----------------|-------|----------------|--------------------------------------------------|
/// | `rgb`           | U8    | [T, H, W, 3]   | third-person observation before the action       |
/// | `wrist_rgb`     | U8    | [T, H, W, 3]   | wrist observation (only when recorded)           |
/// | `state`         | F32   | [T, 8]         | proprioceptive state (TabletopEnv.state)         |
/// | `action`        | F32   | [T, 7]         | normalised expert action in [-1, 1]              |
/// | `episode_index` | I32   | [T]            | episode of each step, 0 ..< episodes             |
/// | `step_index`    | I32   | [T]            | step within its episode                          |
/// | `task_index`    | I32   | [T]            | index into the `tasks` metadata list             |
///
/// Metadata (strings): `format` = "rlinf-demos/1", `tasks` = JSON list of {name, instruction},
/// `split`, `image_size`, `episodes`, `attempted` (episodes run, successful or not), `seed`.
public struct DemoDataset: Sendable {
  public static let format = "rlinf-demos/1"

  public var imageSize: Int
  public var rgb: [UInt8] = []
  public var wristRGB: [UInt8]? = nil
  public var state: [Float] = []
  public var action: [Float] = []
  public var episodeIndex: [Int32] = []
  public var stepIndex: [Int32] = []
  public var taskIndex: [Int32] = []
  /// (name, instruction) per task index.
  public var tasks: [(name: String, instruction: String)] = []
  public var split: Split = .inDistribution
  public var episodes = 0
  public var attempted = 0
  public var seed: UInt64 = 0

  public var steps: Int { action.count / TabletopEnv.actionSize }

  public init(imageSize: Int) { self.imageSize = imageSize }

  public func write(to path: String) throws {
    let tasksJSON = String(decoding: try JSONSerialization.data(
      withJSONObject: tasks.map { ["name": $0.name, "instruction": $0.instruction] }), as: UTF8.self)
    let metadata = [
      "format": Self.format, "tasks": tasksJSON, "split": split.rawValue, "image_size": String(imageSize),
      "episodes": String(episodes), "attempted": String(attempted), "seed": String(seed),
    ]
    let t = steps, side = imageSize
    try rgb.withUnsafeBytes { rgbBytes in
      try state.withUnsafeBytes { stateBytes in
        try action.withUnsafeBytes { actionBytes in
          try episodeIndex.withUnsafeBytes { episodeBytes in
            try stepIndex.withUnsafeBytes { stepBytes in
              try taskIndex.withUnsafeBytes { taskBytes in
                var entries: [SafeTensorsArchiveWriter.Entry] = [
                  .init(name: "rgb", dtype: .U8, shape: [t, side, side, 3], bytes: rgbBytes),
                  .init(name: "state", dtype: .F32, shape: [t, TabletopEnv.stateSize], bytes: stateBytes),
                  .init(name: "action", dtype: .F32, shape: [t, TabletopEnv.actionSize], bytes: actionBytes),
                  .init(name: "episode_index", dtype: .I32, shape: [t], bytes: episodeBytes),
                  .init(name: "step_index", dtype: .I32, shape: [t], bytes: stepBytes),
                  .init(name: "task_index", dtype: .I32, shape: [t], bytes: taskBytes),
                ]
                guard let wrist = wristRGB else {
                  return try SafeTensorsArchiveWriter.write(entries, metadata: metadata, to: path)
                }
                try wrist.withUnsafeBytes { wristBytes in
                  entries.append(.init(name: "wrist_rgb", dtype: .U8, shape: [t, side, side, 3], bytes: wristBytes))
                  try SafeTensorsArchiveWriter.write(entries, metadata: metadata, to: path)
                }
              }
            }
          }
        }
      }
    }
  }
}
