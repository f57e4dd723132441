import Testing
import Torch

@testable import Models

/// A policy placed on a GPU decodes, scores and differentiates as the same policy on the CPU.
/// Runs only where the linked libtorch sees a CUDA device (tools/device-check runs it there);
/// skipped elsewhere. Tolerances allow for TF32 convolutions and reordered float32 sums.
@Suite(.enabled(if: TorchRuntime.cudaAvailable, "needs a CUDA device")) struct PolicyCUDATests {
  static let gpu = Device.cuda(0)
  /// Prompts of different lengths, so the batch is left-padded.
  static let instructions = ["pick up the red cube", "put the blue can on the green ball", "stack the yellow cube on the purple can"]

  /// Two policies with the same seeded weights, one of them moved to the GPU.
  static func pair(_ head: ActionHead) throws -> (cpu: VLAPolicy, gpu: VLAPolicy) {
    let chunks = head == .oft ? 2 : 1
    let cpu = try tinyPolicy(head: head, chunks: chunks, proprioDim: 5)
    let gpu = try tinyPolicy(head: head, chunks: chunks, proprioDim: 5)
    try gpu.move(to: Self.gpu)
    return (cpu, gpu)
  }

  /// Seeded images [3, 64, 64, 3] and states [3, 5].
  static func observations() throws -> (images: Tensor, state: Tensor) {
    (try testImages(3), try Tensor.randn([3, 5], generator: Generator(seed: 8)))
  }

  /// Actions decoded on the GPU (KV-cached for OpenVLA, one parallel forward for OFT) get the
  /// log-probs, entropies and values there that the CPU policy gives the same tokens.
  @Test(arguments: [ActionHead.openvla, .oft])
  func actionsDecodedOnTheGPUScoreAsOnTheCPU(head: ActionHead) throws {
    let (cpu, gpu) = try Self.pair(head)
    let (images, state) = try Self.observations()
    let sampling = SamplingSettings(temperature: 1.0)
    let acted = try Autograd.withNoGrad {
      try gpu.act(images: images, instructions: Self.instructions, state: state, sampling: sampling, generator: Generator(seed: 7))
    }
    #expect([acted.actions, acted.tokens, acted.logProbs, acted.entropies, acted.values!].allSatisfy { $0.device == Self.gpu })
    let scored = try Autograd.withNoGrad {
      try cpu.evaluate(images: images, instructions: Self.instructions, state: state, tokens: acted.tokens.to(device: .cpu), sampling: sampling)
    }
    #expect(try maxDifference(acted.logProbs.to(device: .cpu), scored.logProbs) < 1e-2)
    #expect(try maxDifference(acted.entropies.to(device: .cpu), scored.entropies) < 1e-2)
    #expect(try maxDifference(acted.values!.to(device: .cpu), scored.values!) < 1e-3)
    #expect(try acted.logProbs.isFinite().all().item() == 1, "padded rows stay finite")

    // The critic alone (bootstrap values of final observations) agrees too.
    let values = try Autograd.withNoGrad { try gpu.predictValues(images: images, instructions: Self.instructions, state: state) }
    #expect(try maxDifference(values.to(device: .cpu), scored.values!) < 1e-3)
  }

  /// Greedy decoding (evaluation's argmax, taken on the device) picks the CPU's tokens. A near
  /// tie may flip under TF32, so 90% of the positions must agree (random picks agree on 1/256).
  @Test(arguments: [ActionHead.openvla, .oft])
  func greedyDecodingPicksTheCPUsTokens(head: ActionHead) throws {
    let (cpu, gpu) = try Self.pair(head)
    let images = try testImages(3, seed: 11)
    let state = try Tensor.zeros([3, 5])
    let greedy = SamplingSettings(greedy: true)
    let onGPU = try Autograd.withNoGrad { try gpu.act(images: images, instructions: Self.instructions, state: state, sampling: greedy) }
    let onCPU = try Autograd.withNoGrad { try cpu.act(images: images, instructions: Self.instructions, state: state, sampling: greedy) }
    #expect(onGPU.tokens.device == Self.gpu)
    let pairs = zip(try onGPU.tokens.ints(), try onCPU.tokens.ints())
    #expect(Double(pairs.filter { $0 == $1 }.count) >= 0.9 * Double(onCPU.tokens.elementCount))
  }

  /// The PPO-style loss of given tokens has the CPU's gradients on the GPU, for the vision
  /// tower, the language model, the proprio projector and the critic.
  @Test(arguments: [ActionHead.openvla, .oft])
  func gradientsMatchTheCPU(head: ActionHead) throws {
    let (cpu, gpu) = try Self.pair(head)
    let (images, state) = try Self.observations()
    let sampling = SamplingSettings(temperature: 1.0)
    let tokens = try Autograd.withNoGrad {
      try cpu.act(images: images, instructions: Self.instructions, state: state, sampling: sampling, generator: Generator(seed: 3)).tokens
    }
    func gradients(_ policy: VLAPolicy) throws -> [String: [Float]] {
      let out = try policy.evaluate(images: images, instructions: Self.instructions, state: state, tokens: tokens, sampling: sampling)
      let loss = try -out.chunkLogProbs().mean() + out.values!.square().mean() - out.chunkEntropies().mean() * 0.01
      try loss.backward()
      var found: [String: [Float]] = [:]
      for (name, parameter) in policy.namedParameters() {
        if let grad = parameter.grad { found[name] = try grad.floats() }
      }
      return found
    }
    let expected = try gradients(cpu), actual = try gradients(gpu)
    #expect(Set(actual.keys) == Set(expected.keys))
    #expect(expected.keys.contains { $0.hasPrefix("vision_backbone.") } && expected.keys.contains { $0.hasPrefix("proprio_projector.") })
    for (name, want) in expected {
      let got = actual[name] ?? []
      let scale = max(want.map { Swift.abs($0) }.max() ?? 0, 1e-3)
      let worst = zip(want, got).map { Swift.abs($0 - $1) }.max() ?? 0
      #expect(got.count == want.count && worst / scale < 2e-2, "\(name): largest difference \(worst) of \(scale)")
    }
  }
}
