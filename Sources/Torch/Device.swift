import CTorch

/// Where a tensor lives. CUDA is available only when the linked libtorch was built with it and a
/// device is visible; asking for it otherwise is an error that says so.
public enum Device: Sendable, Equatable, CustomStringConvertible {
  case cpu
  case cuda(Int)

  /// Parses "cpu", "cuda" or "cuda:N".
  public init(parsing text: String) throws {
    switch text {
    case "cpu": self = .cpu
    case "cuda": self = .cuda(0)
    default:
      guard text.hasPrefix("cuda:"), let index = Int(text.dropFirst(5)), index >= 0 else {
        throw TorchError("unknown device '\(text)' (expected cpu, cuda or cuda:N)")
      }
      self = .cuda(index)
    }
  }

  public var description: String {
    switch self {
    case .cpu: "cpu"
    case .cuda(let index): "cuda:\(index)"
    }
  }

  var code: Int32 {
    switch self {
    case .cpu: Int32(CT_CPU.rawValue)
    case .cuda: Int32(CT_CUDA.rawValue)
    }
  }

  var index: Int32 {
    switch self {
    case .cpu: 0
    case .cuda(let index): Int32(index)
    }
  }
}
