import Testing

@testable import Torch

/// Moving modules between devices in place, checked on the meta device (shapes, no data), which
/// every libtorch build has: what CUDA placement relies on, testable without a GPU.
@Suite struct DeviceMoveTests {
  @Test func moveKeepsEveryHolderOfAParameter() throws {
    let layer = try Linear(4, 3, generator: Generator(seed: 1))
    let optimizer = try AdamW(module: layer, lr: 1e-3)
    let weight = layer.weight  // a second holder, like the optimizer's groups
    try (layer(Tensor.ones([2, 4])).sum()).backward()
    #expect(layer.weight.grad?.device == .cpu)

    try layer.move(to: .meta)
    #expect(layer.device == .meta)
    #expect(weight.device == .meta)
    #expect(optimizer.groups[0].parameters.allSatisfy { $0.tensor.device == .meta })
    #expect(layer.weight.requiresGrad && layer.bias!.requiresGrad)
    #expect(layer.weight.shape == [3, 4])
    #expect(layer.weight.grad?.device == .meta)  // the gradient moved with it

    // It computes there: a meta input gives a meta output of the right shape.
    let y = try layer(Tensor.ones([5, 4], device: .meta))
    #expect(y.device == .meta && y.shape == [5, 3])
  }

  @Test func frozenParametersStayFrozenAndAdaptersFollow() throws {
    let layer = try Linear(4, 3, bias: false, generator: Generator(seed: 1))
    try layer.weight.requiringGrad(false)
    let net = ModuleList([layer])
    try net.move(to: .meta)
    #expect(!layer.weight.requiresGrad)
    // LoRA adapters added after a move sit beside the weight they adapt.
    let adapters = try LoRA.apply(to: net, rank: 2, alpha: 4, generator: Generator(seed: 2))
    #expect(adapters.allSatisfy { $0.tensor.device == .meta && $0.tensor.requiresGrad })
    let y = try layer(Tensor.ones([2, 4], device: .meta))
    #expect(y.device == .meta && y.shape == [2, 3])
  }

  @Test func movingToTheSameDeviceChangesNothing() throws {
    let layer = try Linear(2, 2, generator: Generator(seed: 1))
    let before = try layer.weight.floats()
    try (layer(Tensor.ones([1, 2])).sum()).backward()
    let grad = try layer.weight.grad!.floats()
    try layer.move(to: .cpu)
    #expect(try layer.weight.floats() == before)
    #expect(try layer.weight.grad!.floats() == grad)  // the same leaf: its gradient is kept
  }

  @Test(.enabled(if: !TorchRuntime.cudaAvailable, "this libtorch has CUDA: PolicyCUDATests move for real"))
  func cudaMoveWithoutCUDAIsAClearError() throws {
    let layer = try Linear(2, 2)
    do {
      try layer.move(to: .cuda(0))
      Issue.record("moved to CUDA without CUDA")
    } catch let error as TorchError {
      #expect(error.message.contains("no CUDA support"))
    }
    #expect(layer.device == .cpu)
  }
}
