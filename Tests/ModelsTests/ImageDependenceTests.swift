import Testing
import Torch

@testable import Models

@Suite struct ImageDependenceTests {
  /// The image reaches the actions: different images, different action distributions.
  @Test(arguments: [ActionHead.openvla, ActionHead.oft])
  func actionsDependOnTheImage(head: ActionHead) throws {
    let policy = try tinyPolicy(head: head)
    let images = try testImages(2)
    let features = try Autograd.withNoGrad { try policy.projector(policy.visionBackbone(images)) }
    let rowDifference = try (features.select(dim: 0, index: 0) - features.select(dim: 0, index: 1)).abs().max().item()
    #expect(rowDifference > 1e-3, "patch features of different images differ")
    let instructions = ["pick up the red cube", "pick up the red cube"]
    let out = try Autograd.withNoGrad { try policy.act(images: images, instructions: instructions, sampling: SamplingSettings(greedy: true)) }
    let entropyDifference = try (out.entropies.select(dim: 0, index: 0) - out.entropies.select(dim: 0, index: 1)).abs().max().item()
    #expect(entropyDifference > 1e-5, "action distributions of different images differ")
  }
}
