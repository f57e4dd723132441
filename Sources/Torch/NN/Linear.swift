/// y = x W^T + b, weight [out, in] (PyTorch layout and default initialisation), with an optional
/// LoRA adapter (see LoRA.swift) that adds (alpha / r) x A^T B^T.
public final class Linear: Module {
  public let weight: Tensor  // [out, in]
  public let bias: Tensor?   // [out]
  public internal(set) var lora: LoRAAdapter?

  public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, generator: Generator? = nil) throws {
    let bound = 1 / Double(inFeatures).squareRoot()
    weight = try uniformParameter([outFeatures, inFeatures], bound: bound, generator: generator)
    self.bias = bias ? try uniformParameter([outFeatures], bound: bound, generator: generator) : nil
  }

  public var inFeatures: Int { weight.size(1) }
  public var outFeatures: Int { weight.size(0) }

  public var ownParameters: [(name: String, tensor: Tensor)] {
    var list: [(name: String, tensor: Tensor)] = [("weight", weight)]
    if let bias { list.append(("bias", bias)) }
    if let lora { list += [("lora_A.weight", lora.a), ("lora_B.weight", lora.b)] }
    return list
  }

  // [..., in] -> [..., out]
  public func callAsFunction(_ x: Tensor) throws -> Tensor {
    let y = try x.linear(weight: weight, bias: bias)
    guard let lora else { return y }
    return try y + x.linear(weight: lora.a).linear(weight: lora.b) * lora.scale
  }
}
