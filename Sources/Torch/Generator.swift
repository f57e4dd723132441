import CTorch

/// A seeded random-number generator for sampling and initialisation, independent of the global
/// one, so a stage's randomness does not depend on what other stages drew.
public final class Generator: @unchecked Sendable {
  // @unchecked: libtorch generators carry their own mutex.
  let raw: ct_generator

  public init(seed: UInt64, device: Device = .cpu) throws {
    guard let raw = ct_generator_new(seed, device.code, device.index) else {
      throw TorchError.last("Generator(seed: \(seed), device: \(device))")
    }
    self.raw = raw
  }

  deinit { ct_generator_free(raw) }

  /// The full generator state (uint8 tensor), for checkpoints.
  public func state() throws -> Tensor { try wrap(ct_generator_get_state(raw), "Generator.state") }

  /// Restores a state produced by `state()`.
  public func restore(_ state: Tensor) throws {
    try check(ct_generator_set_state(raw, state.raw), "Generator.restore")
  }
}

extension Generator {
  /// A random permutation of 0..<n drawn from this generator: the order of n uniform samples.
  public func permutation(_ n: Int) throws -> [Int] {
    try Tensor.rand([n], generator: self).topK(n, dim: 0).indices.ints()
  }
}
