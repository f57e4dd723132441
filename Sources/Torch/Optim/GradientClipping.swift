/// Scales all gradients so that their global L2 norm is at most `maxNorm` (torch's
/// clip_grad_norm_: the factor is maxNorm / (norm + 1e-6), capped at 1). Returns the norm before
/// clipping; a non-finite norm is returned as is and gradients are left untouched, so the caller
/// can skip the step.
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Double) throws -> Double {
  let grads = parameters.compactMap(\.grad)
  guard !grads.isEmpty else { return 0 }
  return try Autograd.withNoGrad {
    let norms = try grads.map { try $0.norm() }
    let total = try Tensor.stack(norms).norm().item()
    guard total.isFinite else { return total }
    let factor = Swift.min(maxNorm / (total + 1e-6), 1)
    for g in grads { try g.multiplyInPlace(factor) }
    return total
  }
}
