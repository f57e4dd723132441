import SafeTensors

/// A safetensors file opened for reading. Tensors are views of the memory-mapped file (no copy),
/// except when a tensor's bytes are not aligned to its element size, when it is copied once.
public final class SafeTensorsFile: @unchecked Sendable {
  // @unchecked: immutable after init.
  public let archive: SafeTensorsArchive

  public init(path: String) throws {
    do { archive = try SafeTensorsArchive(path: path) } catch let error as SafeTensorsError {
      throw TorchError(error.message)
    }
  }

  /// Tensor names in file order.
  public var names: [String] { archive.names }
  public var metadata: [String: String] { archive.metadata }
  public var header: SafeTensorsHeader { archive.header }
  var file: MappedFile { archive.file }

  public func entry(_ name: String) -> SafeTensorsHeader.Entry? { archive.entry(name) }

  /// The named tensor on the CPU, sharing the file's memory.
  public func tensor(_ name: String) throws -> Tensor {
    guard let entry = archive.entry(name) else { throw TorchError("\(archive.path): no tensor named \(name)") }
    let dtype = DType(entry.dtype)
    let bytes = try archive.bytes(name)
    guard let pointer = bytes.baseAddress else { return try Tensor.zeros(entry.shape, dtype: dtype) }
    if Int(bitPattern: pointer) % dtype.byteSize != 0 {
      let tensor = try Tensor.zeros(entry.shape, dtype: dtype)
      try tensor.copyBytes(from: bytes)
      return tensor
    }
    let owner = archive  // keeps the mapping alive until libtorch frees the storage
    return try Tensor(borrowing: UnsafeMutableRawPointer(mutating: pointer), shape: entry.shape, dtype: dtype) { _ = owner }
  }

  /// Every tensor by name.
  public func tensors() throws -> [String: Tensor] {
    var result: [String: Tensor] = [:]
    for name in names { result[name] = try tensor(name) }
    return result
  }
}

extension DType {
  /// The safetensors name of this dtype.
  public var safeTensorsDType: SafeTensorsDType {
    switch self {
    case .float32: .F32
    case .float64: .F64
    case .bfloat16: .BF16
    case .float16: .F16
    case .int64: .I64
    case .int32: .I32
    case .int16: .I16
    case .int8: .I8
    case .uint8: .U8
    case .bool: .BOOL
    }
  }

  public init(_ dtype: SafeTensorsDType) {
    self = DType.allCases.first { $0.safeTensorsDType == dtype }!
  }
}
