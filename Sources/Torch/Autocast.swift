import CTorch
import Foundation

/// Mixed precision (libtorch's autocast) for the current thread: inside `withBFloat16`, linear
/// layers, matmuls and convolutions on `device` run in bfloat16 (their float32 weights cast on
/// the way in, gradients flowing back to them in float32), everything else in float32. On CPUs
/// with AMX or AVX512-BF16 the matmuls run several times faster; the numbers move by bfloat16's
/// rounding (8 bits of mantissa), so callers keep precision-critical ops (log-probabilities,
/// losses) outside or cast their inputs back to float32.
public enum Autocast {
  /// Whether the current thread is inside a bfloat16 region for `device`.
  public static func isEnabled(on device: Device = .cpu) -> Bool { ct_autocast_enabled(device.autocastCode) }

  /// Runs `body` with bfloat16 autocast on `device` when `enabled` (a plain call otherwise);
  /// restores the previous state afterwards, also when `body` throws.
  public static func withBFloat16<R>(on device: Device = .cpu, enabled: Bool = true, _ body: () throws -> R) throws -> R {
    guard enabled else { return try body() }
    let code = device.autocastCode
    let previous = ct_autocast_enabled(code)
    try check(ct_autocast_enter(code), "autocast")
    defer { ct_autocast_exit(code, previous) }
    return try body()
  }

  /// Whether `device` computes bfloat16 matmuls in hardware. CPUs: the `avx512_bf16` or
  /// `amx_bf16` flag of /proc/cpuinfo; without them libtorch emulates bfloat16, and a matmul of
  /// the policy's size ran 30x slower than in float32 (an AVX2-only AMD EPYC). CUDA devices are
  /// taken to have it (Ampere and later; an older GPU should be configured for fp32).
  public static func isNative(on device: Device) -> Bool {
    switch device {
    case .cuda: true
    case .cpu, .meta: cpuHasBFloat16
    }
  }

  private static let cpuHasBFloat16: Bool = {
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return false }
    let set = Set(flags.split(separator: " ").map(String.init))
    return set.contains("avx512_bf16") || set.contains("amx_bf16")
  }()

  /// Runs `body` with autocast off on `device` (float32 inside a bfloat16 region).
  public static func withFloat32<R>(on device: Device = .cpu, _ body: () throws -> R) rethrows -> R {
    let code = device.autocastCode
    let previous = ct_autocast_enabled(code)
    guard previous else { return try body() }
    ct_autocast_exit(code, false)
    defer { _ = ct_autocast_enter(code) }
    return try body()
  }
}

extension Device {
  /// The shim's device type code for autocast (meta tensors follow the CPU's state).
  var autocastCode: Int32 {
    if case .cuda = self { return Int32(CT_CUDA.rawValue) }
    return Int32(CT_CPU.rawValue)
  }
}
