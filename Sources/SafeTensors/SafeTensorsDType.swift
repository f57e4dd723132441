/// Element types of the safetensors format (the ones rlinf-swift reads and writes), by their
/// header names.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
  case F32, F64, BF16, F16, I64, I32, I16, I8, U8, BOOL

  public var byteSize: Int {
    switch self {
    case .F64, .I64: 8
    case .F32, .I32: 4
    case .BF16, .F16, .I16: 2
    case .I8, .U8, .BOOL: 1
    }
  }
}

/// A malformed or unreadable safetensors file, or a failed write; the message names the file.
public struct SafeTensorsError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
