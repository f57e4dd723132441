/// 2-D convolution, used as the patch embedding of vision transformers (kernel = stride = patch).
public final class Conv2d: Module {
  public let weight: Tensor  // [out, in / groups, kH, kW]
  public let bias: Tensor?   // [out]
  public let stride: (Int, Int)
  public let padding: (Int, Int)

  public init(
    _ inChannels: Int, _ outChannels: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1),
    padding: (Int, Int) = (0, 0), bias: Bool = true, generator: Generator? = nil
  ) throws {
    let fanIn = inChannels * kernel.0 * kernel.1
    let bound = 1 / Double(fanIn).squareRoot()
    weight = try uniformParameter([outChannels, inChannels, kernel.0, kernel.1], bound: bound, generator: generator)
    self.bias = bias ? try uniformParameter([outChannels], bound: bound, generator: generator) : nil
    self.stride = stride
    self.padding = padding
  }

  public var ownParameters: [(name: String, tensor: Tensor)] {
    [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
  }

  // [B, in, H, W] -> [B, out, H', W']
  public func callAsFunction(_ x: Tensor) throws -> Tensor {
    try x.conv2d(weight: weight, bias: bias, stride: stride, padding: padding)
  }
}
