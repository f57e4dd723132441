import CTorch

extension Tensor {
  /// Whether autograd records operations on this tensor.
  public var requiresGrad: Bool { ct_requires_grad(raw) }

  /// Marks a leaf tensor as a parameter to differentiate (returns self for chaining).
  @discardableResult
  public func requiringGrad(_ on: Bool = true) throws -> Tensor {
    try check(ct_set_requires_grad(raw, on), "requiringGrad")
    return self
  }

  public var isLeaf: Bool { ct_is_leaf(raw) }

  /// Accumulates d(self)/d(leaf) into every leaf's `grad`. A non-scalar tensor needs `gradient`.
  public func backward(gradient: Tensor? = nil, retainGraph: Bool = false) throws {
    try check(ct_backward(raw, gradient?.raw, retainGraph), "backward of \(shape)")
  }

  /// Accumulates d(self)/d(p) into the `grad` of each of `parameters` only (a scalar self);
  /// their gradient accumulators run, so a `GradientReducer`'s armed buckets start from here.
  public func backward(into parameters: [Tensor]) throws {
    let inputs: [ct_tensor?] = parameters.map(\.raw)
    try check(ct_backward_into(raw, inputs, Int32(parameters.count)), "backward of \(shape) into \(parameters.count) parameters")
  }

  /// The accumulated gradient, nil before the first backward or after `zeroGrad()`.
  public var grad: Tensor? {
    var out: ct_tensor?
    guard ct_grad(raw, &out) == 0, let out else { return nil }
    return Tensor(owning: out)
  }

  /// Replaces the stored gradient (nil clears it).
  public func setGrad(_ gradient: Tensor?) throws {
    try check(ct_set_grad(raw, gradient?.raw), "setGrad")
  }

  /// Clears the stored gradient (the next backward starts from zero).
  public func zeroGrad() { _ = ct_set_grad(raw, nil) }

  /// The same values, cut from the autograd graph.
  public func detached() throws -> Tensor { try wrap(ct_detach(raw), "detach") }
}

/// Autograd mode for the current thread.
public enum Autograd {
  /// d loss / d tensor for each of `tensors` (a scalar loss), without accumulating into their
  /// `grad`: several threads can each differentiate their own loss over shared parameters and
  /// the caller sums the results in a fixed order (data parallelism that stays deterministic).
  /// Zeros for tensors the loss does not depend on.
  public static func gradients(of loss: Tensor, withRespectTo tensors: [Tensor]) throws -> [Tensor] {
    var out = [ct_tensor?](repeating: nil, count: tensors.count)
    let inputs: [ct_tensor?] = tensors.map(\.raw)
    try check(ct_autograd_grad(loss.raw, inputs, Int32(tensors.count), &out), "gradients")
    return out.map { Tensor(owning: $0!) }
  }

  public static var isEnabled: Bool { ct_grad_enabled() }

  /// Runs `body` with gradient recording off (inference, optimizer updates), restoring the
  /// previous mode afterwards, also when `body` throws.
  public static func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    try withMode(false, body)
  }

  /// Runs `body` with gradient recording on.
  public static func withGrad<R>(_ body: () throws -> R) rethrows -> R {
    try withMode(true, body)
  }

  static func withMode<R>(_ enabled: Bool, _ body: () throws -> R) rethrows -> R {
    let previous = ct_grad_enabled()
    ct_set_grad_enabled(enabled)
    defer { ct_set_grad_enabled(previous) }
    return try body()
  }
}
