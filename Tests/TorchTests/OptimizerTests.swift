import Foundation
import Testing
import Torch

@Suite struct OptimizerTests {
  /// Five AdamW steps with two parameter groups (own lr and weight decay) and global-norm
  /// clipping before each step, against torch.optim.AdamW + clip_grad_norm_, to 1e-6.
  @Test func adamWMatchesTorch() throws {
    let g = try Generator(seed: 11)
    let p0 = try Tensor.randn([4, 3], generator: g), p1 = try Tensor.randn([5], generator: g)
    let steps = 5
    let grads = try (0..<steps).flatMap { step in
      // Step 2 has large gradients so that clipping really scales them.
      let scale = step == 2 ? 50.0 : 1.0
      return [try Tensor.randn([4, 3], generator: g) * scale, try Tensor.randn([5], generator: g) * scale]
    }
    let reference = ReferenceCase(
      name: "adamw", inputs: [p0, p1] + grads, grad: Array(repeating: false, count: 2 + grads.count),
      python: "adamw_run(x, \(steps), [1e-2, 3e-3], [0.01, 0.0], (0.9, 0.999), 1e-8, 0.5)",
      swift: { x in
        let a = try x[0].clone().requiringGrad(), b = try x[1].clone().requiringGrad()
        let optimizer = try AdamW(groups: [
          .init(name: "policy", parameters: [("a", a)], lr: 1e-2, weightDecay: 0.01),
          .init(name: "value", parameters: [("b", b)], lr: 3e-3, weightDecay: 0),
        ])
        var clipped = 0
        for step in 0..<steps {
          try a.setGrad(x[2 + 2 * step].clone())
          try b.setGrad(x[3 + 2 * step].clone())
          if try clipGradientNorm([a, b], maxNorm: 0.5) > 0.5 { clipped += 1 }
          try optimizer.step()
        }
        #expect(clipped == steps)
        let state = try optimizer.exportState()
        #expect(state.steps == ["a": steps, "b": steps])
        let flat = try [a, b, state.tensors["exp_avg.a"]!, state.tensors["exp_avg_sq.a"]!,
                        state.tensors["exp_avg.b"]!, state.tensors["exp_avg_sq.b"]!].map { try $0.detached().flatten() }
        return (try Tensor.cat(flat), [])
      })
    let result = try #require(try runReference([reference]).first)
    let error = try maxRelativeError(result.swiftOutput, result.torchOutput)
    #expect(error < 1e-6, "AdamW differs from torch by \(error)")
  }

  @Test func clippingComputesTheGlobalNorm() throws {
    let a = try Tensor([Float(3), 0], shape: [2]).requiringGrad()
    let b = try Tensor([Float(0), 4], shape: [2]).requiringGrad()
    try a.setGrad(Tensor([Float(3), 0]))
    try b.setGrad(Tensor([Float(0), 4]))
    let norm = try clipGradientNorm([a, b], maxNorm: 1)
    #expect(Swift.abs(norm - 5) < 1e-6)
    #expect(try a.grad!.floats().map { Double($0) }.elementsEqual([0.6, 0], by: { Swift.abs($0 - $1) < 1e-5 }))
    #expect(try b.grad!.floats().map { Double($0) }.elementsEqual([0, 0.8], by: { Swift.abs($0 - $1) < 1e-5 }))
  }

  @Test func nonFiniteNormLeavesGradientsAlone() throws {
    let a = try Tensor([Float(1), .nan]).requiringGrad()
    try a.setGrad(Tensor([Float(1), .nan]))
    let norm = try clipGradientNorm([a], maxNorm: 1)
    #expect(norm.isNaN)
    #expect(try a.grad!.floats()[0] == 1)
  }

  /// Exported state restores into a fresh optimizer, and both then take identical steps.
  @Test func stateRoundTrip() throws {
    let g = try Generator(seed: 3)
    let w1 = try Tensor.randn([3, 3], generator: g).requiringGrad()
    let first = try AdamW(groups: [.init(name: "all", parameters: [("w", w1)], lr: 0.1)])
    for _ in 0..<3 {
      try w1.setGrad(Tensor.randn([3, 3], generator: g))
      try first.step()
    }
    let w2 = try w1.detached().clone().requiringGrad()
    let second = try AdamW(groups: [.init(name: "all", parameters: [("w", w2)], lr: 0.1)])
    try second.importState(first.exportState())
    let grad = try Tensor.randn([3, 3], generator: g)
    try w1.setGrad(grad.clone())
    try w2.setGrad(grad.clone())
    try first.step()
    try second.step()
    #expect(try w1.floats() == w2.floats())

    let wrongShape = try AdamW(groups: [.init(name: "all", parameters: [("w", Tensor.zeros([2]).requiringGrad())], lr: 0.1)])
    #expect(throws: TorchError.self) { try wrongShape.importState(first.exportState()) }
  }

  @Test func aParameterInTwoGroupsIsRejected() throws {
    let w = try Tensor.zeros([2]).requiringGrad()
    #expect(throws: TorchError.self) {
      try AdamW(groups: [.init(name: "a", parameters: [("w", w)], lr: 1), .init(name: "b", parameters: [("w", w)], lr: 1)])
    }
  }
}
