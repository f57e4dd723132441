import Config
import Torch

extension Precision {
  /// Whether a policy on `device` runs its matmuls in bfloat16 (`auto`: where it is native).
  public func usesBFloat16(on device: Device) -> Bool {
    switch self {
    case .fp32: false
    case .bf16: true
    case .auto: Autocast.isNative(on: device)
    }
  }

  /// How the matmuls run on `device`, for the job's log: the choice and, where it matters, why.
  public func summary(on device: Device) -> String {
    let native = Autocast.isNative(on: device)
    switch self {
    case .fp32: return "fp32"
    case .bf16: return native ? "bf16" : "bf16, emulated on \(device) (no AVX512-BF16 or AMX): many times slower than fp32"
    case .auto: return native ? "bf16 (auto: native on \(device))" : "fp32 (auto: \(device) has no native bfloat16)"
    }
  }
}
