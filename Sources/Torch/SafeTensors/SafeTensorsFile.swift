/// A safetensors file opened for reading. Tensors are views of the memory-mapped file (no copy),
/// except when a tensor's bytes are not aligned to its element size, when it is copied once.
public final class SafeTensorsFile: @unchecked Sendable {
  // @unchecked: immutable after init.
  public let header: SafeTensorsHeader
  let file: MappedFile
  private let index: [String: SafeTensorsHeader.Entry]

  public init(path: String) throws {
    file = try MappedFile(path: path)
    header = try SafeTensorsHeader.parse(file.bytes, fileSize: file.size, source: path)
    index = Dictionary(uniqueKeysWithValues: header.entries.map { ($0.name, $0) })
  }

  /// Tensor names in file order.
  public var names: [String] { header.entries.map(\.name) }
  public var metadata: [String: String] { header.metadata }

  public func entry(_ name: String) -> SafeTensorsHeader.Entry? { index[name] }

  /// The named tensor on the CPU, sharing the file's memory.
  public func tensor(_ name: String) throws -> Tensor {
    guard let entry = index[name] else { throw TorchError("\(file.path): no tensor named \(name)") }
    let start = header.dataStart + entry.range.lowerBound
    let count = entry.range.count
    guard count > 0, let base = file.base else { return try Tensor.zeros(entry.shape, dtype: entry.dtype) }
    let pointer = base + start
    if Int(bitPattern: pointer) % entry.dtype.byteSize != 0 {
      let tensor = try Tensor.zeros(entry.shape, dtype: entry.dtype)
      try tensor.copyBytes(from: UnsafeRawBufferPointer(start: pointer, count: count))
      return tensor
    }
    let owner = file  // keeps the mapping alive until libtorch frees the storage
    return try Tensor(borrowing: pointer, shape: entry.shape, dtype: entry.dtype) { _ = owner }
  }

  /// Every tensor by name.
  public func tensors() throws -> [String: Tensor] {
    var result: [String: Tensor] = [:]
    for entry in header.entries { result[entry.name] = try tensor(entry.name) }
    return result
  }
}
