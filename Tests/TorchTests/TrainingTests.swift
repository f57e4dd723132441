import Testing
import Torch

@Suite struct TrainingTests {
  /// A two-layer network learns a smooth 2-D function: the loss falls under a fixed bound.
  @Test func twoLayerNetworkReachesLossBound() throws {
    let g = try Generator(seed: 0)
    let x = try Tensor.rand([512, 2], generator: g) * 2 - 1  // [N, 2]
    let x0 = try x.select(dim: 1, index: 0), x1 = try x.select(dim: 1, index: 1)
    let y = try ((x0 * 3).sin() * (x1 * 2).cos() + x0 * x1 * 0.5).unsqueeze(1)  // [N, 1]
    let hidden = try Linear(2, 32, generator: g), output = try Linear(32, 1, generator: g)
    let optimizer = try AdamW(groups: [
      .init(name: "net", parameters: hidden.namedParameters(prefix: "hidden.") + output.namedParameters(prefix: "output."), lr: 1e-2, weightDecay: 0)
    ])
    func loss() throws -> Tensor { try (output(hidden(x).gelu()) - y).square().mean() }
    let initial = try loss().item()
    for _ in 0..<300 {
      optimizer.zeroGrad()
      try loss().backward()
      try optimizer.step()
    }
    let final = try loss().item()
    #expect(initial > 0.1)
    #expect(final < 0.01, "loss \(initial) -> \(final)")
  }
}
