import Testing

@testable import Torch

/// The building blocks of a training step give the CPU's numbers on a GPU. Runs only where the
/// linked libtorch sees a CUDA device (tools/device-check runs it there); skipped elsewhere.
/// Tolerances allow for TF32 convolutions and other reordered float32 sums on the GPU.
@Suite(.enabled(if: TorchRuntime.cudaAvailable, "needs a CUDA device")) struct CUDAParityTests {
  /// A patch embedding, layer norm, masked attention and a linear head, trained for two AdamW
  /// steps with gradient clipping: the optimizer's moments are created on the GPU beside the
  /// parameters, and the weights after the steps match the CPU's.
  @Test func twoTrainingStepsMatchTheCPU() throws {
    final class Net: Module {
      let patch = try! Conv2d(3, 16, kernel: (4, 4), stride: (4, 4), generator: try! Generator(seed: 1))
      let norm = try! LayerNorm(16)
      let attention = try! MultiHeadAttention(dim: 16, heads: 2, generator: try! Generator(seed: 2))
      let head = try! Linear(16, 5, generator: try! Generator(seed: 3))
      var children: [(name: String, module: any Module)] {
        [("patch", patch), ("norm", norm), ("attention", attention), ("head", head)]
      }
      // images [B, 3, 16, 16], valid [B, 16] -> logits [B, 5]
      func callAsFunction(_ images: Tensor, valid: Tensor) throws -> Tensor {
        let tokens = try norm(patch(images).flatten(from: 2).transpose(1, 2))  // [B, 16, 16]
        let mixed = try attention(tokens, mask: Attention.paddingMask(valid: valid))  // [B, 16, 16]
        return try head(mixed.mean(dims: [1]))
      }
    }
    let images = try Tensor.randn([4, 3, 16, 16], generator: Generator(seed: 4))
    // Rows keep 16, 12, 8 and 4 of their 16 patches.
    let valid = try Tensor((0..<4).flatMap { row in (0..<16).map { $0 < 16 - 4 * row } }, shape: [4, 16])
    let targets = try Tensor([Int64(0), 3, 1, 4])

    func train(on device: Device) throws -> (losses: [Double], weights: [Float]) {
      let net = Net()
      try net.move(to: device)
      let optimizer = try AdamW(module: net, lr: 0.01)
      // The key projection's bias has a gradient of zero up to rounding noise, whose sign Adam
      // would turn into a full step either way: a larger epsilon keeps that noise from moving the weight.
      optimizer.eps = 1e-3
      var losses: [Double] = []
      for _ in 0..<2 {
        optimizer.zeroGrad()
        let logits = try net(images.to(device: device), valid: valid.to(device: device))  // [B, 5]
        #expect(logits.device == device)
        let loss = try -logits.logSoftmax(dim: -1).gather(dim: 1, index: targets.to(device: device).unsqueeze(1)).mean()
        try loss.backward()
        _ = try clipGradientNorm(net.parameters, maxNorm: 0.5)
        try optimizer.step()
        losses.append(try loss.item())
      }
      #expect(net.parameters.allSatisfy { $0.device == device })
      return (losses, try net.parameters.flatMap { try $0.floats() })
    }
    let cpu = try train(on: .cpu), gpu = try train(on: .cuda(0))
    #expect(zip(cpu.losses, gpu.losses).allSatisfy { Swift.abs($0 - $1) < 1e-3 }, "losses \(cpu.losses) vs \(gpu.losses)")
    let worst = zip(cpu.weights, gpu.weights).map { Swift.abs($0 - $1) }.max()!
    #expect(worst < 1e-3, "largest weight difference \(worst)")
  }

  /// Tensors cross between the devices intact, and seeded generators draw on the CPU whatever
  /// device the probabilities live on (what makes sampled actions independent of placement).
  @Test func copiesAndSeededSamplingAgree() throws {
    let values = try Tensor.randn([3, 7], generator: Generator(seed: 5))
    #expect(try values.to(device: .cuda(0)).to(device: .cpu).floats() == values.floats())
    let probabilities = try values.softmax(dim: -1)  // [3, 7]
    let onGPU = try probabilities.to(device: .cuda(0))
    let drawnHere = try probabilities.multinomial(count: 1, generator: Generator(seed: 6)).ints()
    let drawnFromGPU = try onGPU.to(device: .cpu).multinomial(count: 1, generator: Generator(seed: 6)).ints()
    #expect(drawnHere == drawnFromGPU)
  }
}
