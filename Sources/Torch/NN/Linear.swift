/// y = x W^T + b, weight [out, in] (PyTorch layout and default initialisation).
public final class Linear: Module {
  public let weight: Tensor  // [out, in]
  public let bias: Tensor?   // [out]

  public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, generator: Generator? = nil) throws {
    let bound = 1 / Double(inFeatures).squareRoot()
    weight = try uniformParameter([outFeatures, inFeatures], bound: bound, generator: generator)
    self.bias = bias ? try uniformParameter([outFeatures], bound: bound, generator: generator) : nil
  }

  public var ownParameters: [(name: String, tensor: Tensor)] {
    [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
  }

  // [..., in] -> [..., out]
  public func callAsFunction(_ x: Tensor) throws -> Tensor {
    try x.linear(weight: weight, bias: bias)
  }
}
