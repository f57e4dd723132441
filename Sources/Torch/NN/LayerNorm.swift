/// Normalises the last dimension to zero mean and unit variance, then scales and shifts.
public final class LayerNorm: Module {
  public let weight: Tensor  // [dim]
  public let bias: Tensor?   // [dim]
  public let eps: Double

  public init(_ dim: Int, eps: Double = 1e-5, bias: Bool = true) throws {
    weight = try constantParameter([dim], value: 1)
    self.bias = bias ? try constantParameter([dim], value: 0) : nil
    self.eps = eps
  }

  public var ownParameters: [(name: String, tensor: Tensor)] {
    [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
  }

  // [..., dim] -> [..., dim]
  public func callAsFunction(_ x: Tensor) throws -> Tensor {
    try x.layerNorm(normalizedShape: [weight.size(0)], weight: weight, bias: bias, eps: eps)
  }
}
