import Foundation
import SafeTensors

/// A Hugging Face style checkpoint folder: either one `model.safetensors`, or shards listed by
/// `model.safetensors.index.json` (`{"metadata": {...}, "weight_map": {"name": "file"}}`).
public final class ShardedCheckpoint: @unchecked Sendable {
  // @unchecked: immutable after init.
  public static let singleFileName = "model.safetensors"
  public static let indexFileName = "model.safetensors.index.json"

  public let directory: String
  private let shards: [String: SafeTensorsFile]
  private let location: [String: String]  // tensor name -> shard file name

  public init(directory: String) throws {
    self.directory = directory
    let indexPath = directory + "/" + Self.indexFileName
    if FileManager.default.fileExists(atPath: indexPath) {
      let data: Data
      do { data = try Data(contentsOf: URL(fileURLWithPath: indexPath)) } catch {
        throw TorchError("cannot read \(indexPath): \(error.localizedDescription)")
      }
      guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let map = object["weight_map"] as? [String: String]
      else { throw TorchError("\(indexPath): expected a JSON object with a string-to-string weight_map") }
      var shards: [String: SafeTensorsFile] = [:]
      for file in Set(map.values) {
        guard !file.contains("/") else { throw TorchError("\(indexPath): shard name \(file) must be a plain file name") }
        shards[file] = try SafeTensorsFile(path: directory + "/" + file)
      }
      for (name, file) in map where shards[file]?.entry(name) == nil {
        throw TorchError("\(indexPath): \(name) is mapped to \(file), which does not contain it")
      }
      self.shards = shards
      location = map
    } else {
      let single = try SafeTensorsFile(path: directory + "/" + Self.singleFileName)
      shards = [Self.singleFileName: single]
      location = Dictionary(uniqueKeysWithValues: single.names.map { ($0, Self.singleFileName) })
    }
  }

  public var names: [String] { location.keys.sorted() }

  /// Shard file names listed by a folder's index, validated as plain names.
  public static func shardFiles(directory: String) throws -> [String] {
    let indexPath = directory + "/" + indexFileName
    guard let data = FileManager.default.contents(atPath: indexPath),
      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let map = object["weight_map"] as? [String: String]
    else { throw TorchError("\(indexPath): expected a JSON object with a string-to-string weight_map") }
    let files = Set(map.values).sorted()
    for file in files where file.contains("/") { throw TorchError("\(indexPath): shard name \(file) must be a plain file name") }
    return files
  }

  public func tensor(_ name: String) throws -> Tensor {
    guard let file = location[name], let shard = shards[file] else {
      throw TorchError("checkpoint \(directory) has no tensor named \(name)")
    }
    return try shard.tensor(name)
  }

  public func tensors() throws -> [String: Tensor] {
    var result: [String: Tensor] = [:]
    for name in location.keys { result[name] = try tensor(name) }
    return result
  }

  /// Writes `tensors` into `directory` as shards of at most `maxShardBytes` (a tensor larger than
  /// that gets a shard of its own) plus the index; a single shard is written as model.safetensors.
  public static func write(
    _ tensors: [String: Tensor], to directory: String, maxShardBytes: Int, metadata: [String: String] = [:]
  ) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var shards: [[(name: String, tensor: Tensor)]] = [[]]
    var shardBytes = 0
    for (name, tensor) in tensors.sorted(by: { $0.key < $1.key }) {
      let bytes = tensor.elementCount * tensor.dtype.byteSize
      if shardBytes + bytes > maxShardBytes && !shards[shards.count - 1].isEmpty {
        shards.append([])
        shardBytes = 0
      }
      shards[shards.count - 1].append((name, tensor))
      shardBytes += bytes
    }
    if shards.count == 1 {
      try SafeTensorsWriter.write(shards[0], metadata: metadata, to: directory + "/" + singleFileName)
      return
    }
    var weightMap: [String: String] = [:]
    var totalSize = 0
    for (i, shard) in shards.enumerated() {
      let file = String(format: "model-%05d-of-%05d.safetensors", i + 1, shards.count)
      try SafeTensorsWriter.write(shard, metadata: metadata, to: directory + "/" + file)
      for (name, tensor) in shard {
        weightMap[name] = file
        totalSize += tensor.elementCount * tensor.dtype.byteSize
      }
    }
    let index: [String: Any] = ["metadata": ["total_size": totalSize], "weight_map": weightMap]
    let json = try JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted, .sortedKeys])
    do {
      try AtomicFile.write(to: directory + "/" + indexFileName) { fd in
        try json.withUnsafeBytes { try AtomicFile.writeAll(fd, $0, indexFileName) }
      }
    } catch let error as SafeTensorsError {
      throw TorchError(error.message)
    }
  }
}
