/// Root-mean-square normalisation (Llama): x / sqrt(mean(x^2) + eps) * weight, computed in
/// float32 and returned in the input's dtype.
public final class RMSNorm: Module {
  public let weight: Tensor  // [dim]
  public let eps: Double

  public init(_ dim: Int, eps: Double = 1e-6) throws {
    weight = try constantParameter([dim], value: 1)
    self.eps = eps
  }

  public var ownParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }

  // [..., dim] -> [..., dim]
  public func callAsFunction(_ x: Tensor) throws -> Tensor {
    let x32 = try x.to(dtype: .float32)
    let meanSquare = try x32.square().mean(dims: [-1], keepDims: true)  // [..., 1]
    let normalized = try (x32 * (meanSquare + eps).rsqrt()).to(dtype: x.dtype)
    return try weight * normalized
  }
}
