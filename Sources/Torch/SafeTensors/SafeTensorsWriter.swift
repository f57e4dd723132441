import SafeTensors

/// Writes tensors as a safetensors file, atomically (see SafeTensorsArchiveWriter).
public enum SafeTensorsWriter {
  /// Writes `tensors` (any device or layout; stored as contiguous CPU bytes) in the given order.
  public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:], to path: String) throws {
    let prepared = try tensors.map { (name: $0.name, tensor: try $0.tensor.detached().to(device: .cpu).contiguous()) }
    do {
      try withBytes(prepared[...]) { entries in
        try SafeTensorsArchiveWriter.write(entries, metadata: metadata, to: path)
      }
    } catch let error as SafeTensorsError {
      throw TorchError(error.message)
    }
  }

  /// The file's bytes in memory: a snapshot of the tensors now (checkpoints are written from
  /// such snapshots in the background).
  public static func encode(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) throws -> [UInt8] {
    let prepared = try tensors.map { (name: $0.name, tensor: try $0.tensor.detached().to(device: .cpu).contiguous()) }
    var bytes: [UInt8] = []
    do {
      try withBytes(prepared[...]) { bytes = try SafeTensorsArchiveWriter.encode($0, metadata: metadata) }
    } catch let error as SafeTensorsError {
      throw TorchError(error.message)
    }
    return bytes
  }

  public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:]) throws -> [UInt8] {
    try encode(tensors.sorted { $0.key < $1.key }.map { (name: $0.key, tensor: $0.value) }, metadata: metadata)
  }

  /// Convenience for a dictionary (written in sorted name order).
  public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
    try write(tensors.sorted { $0.key < $1.key }.map { (name: $0.key, tensor: $0.value) }, metadata: metadata, to: path)
  }

  /// Collects the byte views of every tensor (each valid only inside its withUnsafeBytes).
  private static func withBytes(
    _ rest: ArraySlice<(name: String, tensor: Tensor)>, _ done: [SafeTensorsArchiveWriter.Entry] = [],
    _ body: ([SafeTensorsArchiveWriter.Entry]) throws -> Void
  ) throws {
    guard let first = rest.first else { return try body(done) }
    try first.tensor.withUnsafeBytes { bytes in
      let entry = SafeTensorsArchiveWriter.Entry(
        name: first.name, dtype: first.tensor.dtype.safeTensorsDType, shape: first.tensor.shape, bytes: bytes)
      try withBytes(rest.dropFirst(), done + [entry], body)
    }
  }
}
