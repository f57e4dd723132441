import Glibc

/// SplitMix64: a small, fast, seedable generator. Every environment owns one, so trajectories
/// depend only on seeds, never on thread scheduling.
public struct SplitMix: RandomNumberGenerator, Sendable {
  var state: UInt64
  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A seed derived from two values (e.g. base seed and reset-state id).
  static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
    var g = SplitMix(seed: a ^ (b &* 0xD1B5_4A32_D192_ED03))
    return g.next()
  }

  mutating func uniform(_ range: ClosedRange<Double>) -> Double { Double.random(in: range, using: &self) }

  /// A standard normal sample (Box-Muller).
  mutating func gaussian() -> Double {
    let u = uniform(Double.leastNonzeroMagnitude...1), v = uniform(0...1)
    return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
  }
}
