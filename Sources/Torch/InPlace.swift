import CTorch

// In-place updates, for optimizers, parameter loading and initialisation. They mutate the storage
// shared by every copy of the tensor; call them under `Autograd.withNoGrad` on parameters.
extension Tensor {
  /// self += alpha * other
  public func addInPlace(_ other: Tensor, alpha: Double = 1) throws {
    try check(ct_add_(raw, other.raw, alpha), "addInPlace")
  }

  /// self *= s
  public func multiplyInPlace(_ s: Double) throws { try check(ct_mul_scalar_(raw, s), "multiplyInPlace") }

  /// self *= other
  public func multiplyInPlace(_ other: Tensor) throws { try check(ct_mul_(raw, other.raw), "multiplyInPlace") }

  /// self += value * a * b
  public func addProductInPlace(_ a: Tensor, _ b: Tensor, value: Double = 1) throws {
    try check(ct_addcmul_(raw, a.raw, b.raw, value), "addProductInPlace")
  }

  /// self += value * a / b
  public func addQuotientInPlace(_ a: Tensor, _ b: Tensor, value: Double = 1) throws {
    try check(ct_addcdiv_(raw, a.raw, b.raw, value), "addQuotientInPlace")
  }

  /// Copies `source` (broadcast, converted) into self.
  public func copyFrom(_ source: Tensor) throws {
    try check(ct_copy_(raw, source.raw), "copyFrom(\(source.shape)) into \(shape)")
  }

  /// Moves this leaf tensor to `device` in place: every copy of it (a module's parameter, an
  /// optimizer's reference) then lives there, with its requires_grad and gradient.
  public func moveInPlace(to device: Device) throws {
    try check(ct_move_to_device(raw, device.code, device.index), "moveInPlace(to: \(device))")
  }

  public func fillInPlace(_ value: Double) throws { try check(ct_fill_(raw, value), "fillInPlace") }

  /// Overwrites with uniform samples in [low, high).
  public func uniformInPlace(_ low: Double, _ high: Double, generator: Generator? = nil) throws {
    try check(ct_uniform_(raw, low, high, generator?.raw), "uniformInPlace")
  }

  /// Overwrites with normal samples.
  public func normalInPlace(mean: Double = 0, std: Double = 1, generator: Generator? = nil) throws {
    try check(ct_normal_(raw, mean, std, generator?.raw), "normalInPlace")
  }
}
