import Foundation
import Torch

/// VLA checkpoints as Hugging Face lays them out: config.json, tokenizer.model, and the weights
/// as model.safetensors or shards listed in model.safetensors.index.json, with OpenVLA's
/// parameter names.
public enum VLACheckpoint {
  public static let configFile = "config.json"
  public static let tokenizerFile = "tokenizer.model"

  /// Writes `policy` into `directory` (created if needed), weights in `dtype`, in shards of at
  /// most `maxShardBytes`.
  public static func save(_ policy: VLAPolicy, to directory: String, dtype: DType = .float32, maxShardBytes: Int = 2_000_000_000) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var tensors: [String: Tensor] = [:]
    for (name, tensor) in policy.namedParameters() { tensors[name] = try tensor.detached().to(dtype: dtype) }
    try ShardedCheckpoint.write(tensors, to: directory, maxShardBytes: maxShardBytes, metadata: ["format": "pt"])
    try configBytes(policy).write(to: URL(fileURLWithPath: directory + "/" + configFile), options: .atomic)
    try policy.tokenizer.modelBytes.write(to: URL(fileURLWithPath: directory + "/" + tokenizerFile), options: .atomic)
  }

  /// The same checkpoint as file contents in memory (float32, one weights file): a snapshot a
  /// background writer can put on disk later.
  public static func files(_ policy: VLAPolicy) throws -> [String: [UInt8]] {
    let parameters = try policy.namedParameters().map { (name: $0.name, tensor: try $0.tensor.detached()) }
    return [
      ShardedCheckpoint.singleFileName: try SafeTensorsWriter.encode(parameters, metadata: ["format": "pt"]),
      configFile: Array(try configBytes(policy)),
      tokenizerFile: Array(policy.tokenizer.modelBytes),
    ]
  }

  private static func configBytes(_ policy: VLAPolicy) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return try encoder.encode(policy.config)
  }

  /// Reads the config of a checkpoint folder.
  public static func config(at directory: String) throws -> VLAConfig {
    let path = directory + "/" + configFile
    guard let data = FileManager.default.contents(atPath: path) else { throw ModelError.checkpoint("no \(configFile) in \(directory)") }
    do { return try JSONDecoder().decode(VLAConfig.self, from: data) } catch {
      throw ModelError.checkpoint("\(path): \(error)")
    }
  }

  /// Builds the policy a checkpoint folder describes and loads its weights (streamed from the
  /// memory-mapped files: about one copy of the weights in memory at any time).
  public static func load(from directory: String) throws -> VLAPolicy {
    let config = try config(at: directory)
    let tokenizer = try SentencePieceTokenizer(path: directory + "/" + tokenizerFile)
    let policy = try VLAPolicy(config: config, tokenizer: tokenizer)
    let index = directory + "/" + ShardedCheckpoint.indexFileName
    var files: [SafeTensorsFile] = []
    if FileManager.default.fileExists(atPath: index) {
      let shards = try ShardedCheckpoint.shardFiles(directory: directory)
      files = try shards.map { try SafeTensorsFile(path: directory + "/" + $0) }
    } else {
      files = [try SafeTensorsFile(path: directory + "/" + ShardedCheckpoint.singleFileName)]
    }
    do { try policy.loadParameters(from: files) } catch let error as TorchError {
      throw ModelError.checkpoint("\(directory): \(error.message)")
    }
    return policy
  }
}
