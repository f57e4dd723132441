import Foundation
import Models
import Torch

/// A demonstration file (Sim's `.demos.safetensors`) as tensors, memory-mapped, and the batches
/// SFT draws from it.
public final class DemoData {
  public let images: Tensor          // [T, H, W, 3] uint8
  public let actions: [Float]        // [T * 7]
  public let state: Tensor           // [T, 8] float32
  public let episode: [Int32]        // [T]
  public let instructions: [String]  // [T]
  public let taskNames: [String]
  public var count: Int { episode.count }

  /// `camera`: "rgb" (third person) or "wrist_rgb".
  public init(path: String, camera: String = "rgb") throws {
    let file = try SafeTensorsFile(path: path)
    guard file.metadata["format"] == "rlinf-demos/1" else {
      throw ModelError.input("\(path) is not an rlinf demonstration file (format \(file.metadata["format"] ?? "none"))")
    }
    guard file.names.contains(camera) else {
      throw ModelError.input("\(path) has no \(camera) images (recorded cameras: \(file.names.filter { $0.hasSuffix("rgb") }.joined(separator: ", ")))")
    }
    images = try file.tensor(camera)
    actions = try file.tensor("action").scalars(as: Float.self)
    state = try file.tensor("state")
    episode = try file.tensor("episode_index").scalars(as: Int32.self)
    let taskIndex = try file.tensor("task_index").scalars(as: Int32.self)
    struct TaskEntry: Decodable { let name: String; let instruction: String }
    let tasks = try JSONDecoder().decode([TaskEntry].self, from: Data((file.metadata["tasks"] ?? "[]").utf8))
    taskNames = tasks.map(\.name)
    instructions = taskIndex.map { tasks[Int($0)].instruction }
  }

  /// Images, instructions and target tokens [B, K, 7] for rows `rows`: the actions of steps
  /// t ..< t + K of the same episode (the last one repeated past the episode's end).
  public func batch(rows: [Int], chunk: Int, tokenizer: ActionTokenizer) throws -> (images: Tensor, instructions: [String], state: Tensor, tokens: Tensor) {
    var tokens: [Int64] = []
    tokens.reserveCapacity(rows.count * chunk * 7)
    for row in rows {
      var source = row
      for k in 0..<chunk {
        if k > 0 && source + 1 < count && episode[source + 1] == episode[row] { source += 1 }
        for d in 0..<7 { tokens.append(Int64(tokenizer.token(for: Double(actions[source * 7 + d])))) }
      }
    }
    let index = try Tensor(rows.map(Int64.init), shape: [rows.count])
    return (try images.indexSelect(dim: 0, index: index), rows.map { instructions[$0] },
            try state.indexSelect(dim: 0, index: index), try Tensor(tokens, shape: [rows.count, chunk, 7]))
  }
}
