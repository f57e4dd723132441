import Testing
import Torch

@testable import Models

/// Moving a policy to another device takes every tensor it computes with: parameters, buffers
/// (the action-bin values), a critic attached later and LoRA adapters added later. Checked on the
/// meta device (shapes without data), which every libtorch build has. (Running the policy there
/// is not possible: libtorch's C++ build has no meta kernels for embedding or layer norm.)
@Suite struct PolicyDeviceTests {
  @Test func everyTensorMovesAndLaterAdditionsFollow() throws {
    let policy = try tinyPolicy(head: .oft, chunks: 2, proprioDim: 5)
    let count = policy.parameters.count
    try policy.move(to: .meta)
    #expect(policy.device == .meta)
    #expect(policy.buffers.count == 1)
    let elsewhere = policy.namedParameters().filter { $0.tensor.device != .meta }.map(\.name)
    #expect(elsewhere.isEmpty, "not moved: \(elsewhere)")
    #expect(policy.buffers.allSatisfy { $0.device == .meta })
    #expect(policy.parameters.count == count)

    let head = try policy.attachValueHead(outputs: 2, generator: Generator(seed: 2))
    #expect(head.parameters.allSatisfy { $0.device == .meta })
    let adapters = try LoRA.apply(to: policy.languageModel, rank: 2, alpha: 4, targets: ["q_proj"], generator: Generator(seed: 3))
    #expect(!adapters.isEmpty && adapters.allSatisfy { $0.tensor.device == .meta })
  }

  @Test func aPolicyOnTheCPUIsUnchangedByAMoveThere() throws {
    let policy = try tinyPolicy(head: .openvla)
    let images = try testImages(2)
    let instructions = ["pick up the red cube", "put the blue can on the green ball"]
    func act() throws -> [Double] {
      try Autograd.withNoGrad {
        try policy.act(images: images, instructions: instructions, sampling: SamplingSettings(), generator: Generator(seed: 4)).logProbs.doubles()
      }
    }
    let before = try act()
    try policy.move(to: .cpu)
    #expect(try act() == before)
  }
}
