/// A lookup table of `count` vectors of size `dim`, initialised N(0, 1) like PyTorch.
public final class Embedding: Module {
  public let weight: Tensor  // [count, dim]

  public init(_ count: Int, _ dim: Int, generator: Generator? = nil) throws {
    let table = try Tensor.zeros([count, dim])
    try table.normalInPlace(generator: generator)
    weight = try table.requiringGrad()
  }

  public var ownParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }

  // int64 ids [...] -> [..., dim]
  public func callAsFunction(_ ids: Tensor) throws -> Tensor { try weight.embedding(ids) }
}
