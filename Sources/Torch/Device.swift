import CTorch

/// Where a tensor lives. CUDA is available only when the linked libtorch was built with it and a
/// device is visible; asking for it otherwise is an error that says so. `meta` tensors carry
/// shapes and dtypes but no data: code run on them shows, on any machine, that every tensor it
/// makes lands on its inputs' device (what CUDA placement needs).
public enum Device: Sendable, Equatable, CustomStringConvertible {
  case cpu
  case cuda(Int)
  case meta

  /// Parses "cpu", "cuda" or "cuda:N" (the devices a run can be placed on; meta is for checks).
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

  /// The device of a shim device code and index.
  init(code: Int32, index: Int32) {
    switch code {
    case Int32(CT_CUDA.rawValue): self = .cuda(Int(index))
    case Int32(CT_META.rawValue): self = .meta
    default: self = .cpu
    }
  }

  public var description: String {
    switch self {
    case .cpu: "cpu"
    case .cuda(let index): "cuda:\(index)"
    case .meta: "meta"
    }
  }

  var code: Int32 {
    switch self {
    case .cpu: Int32(CT_CPU.rawValue)
    case .cuda: Int32(CT_CUDA.rawValue)
    case .meta: Int32(CT_META.rawValue)
    }
  }

  var index: Int32 {
    switch self {
    case .cpu, .meta: 0
    case .cuda(let index): Int32(index)
    }
  }
}
