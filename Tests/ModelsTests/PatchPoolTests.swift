import Foundation
import Testing
import TestSupport
import Torch

@testable import Models

/// `patch_pool`: the image patch grid averaged in blocks before the language model reads it.
@Suite struct PatchPoolTests {
  /// The pooling is PyTorch's avg_pool2d over the row-major patch grid.
  @Test(arguments: [2, 4])
  func poolingMatchesAvgPool2d(factor: Int) throws {
    let dir = try temporaryDirectory("patch-pool")
    let features = try Tensor.randn([2, 64, 5], generator: Generator(seed: 11))  // [B, 8 x 8, D]
    try SafeTensorsWriter.write(["features": features], to: dir + "/pool.safetensors")
    try runPython(parityScript, ["pool", dir + "/pool.safetensors", "\(factor)"])
    let reference = try SafeTensorsFile(path: dir + "/pool.safetensors").tensor("pooled")
    let pooled = try VisionBackbone.poolGrid(features, factor: factor)
    #expect(pooled.shape == [2, 64 / (factor * factor), 5])
    #expect(try maxDifference(pooled, reference) < 1e-6)
  }

  /// The language model reads a quarter of the image tokens at factor 2, so the prompt is 48
  /// positions shorter than the unpooled policy's; the setting survives a checkpoint, and a
  /// config.json without it (OpenVLA's) reads as 1.
  @Test func pooledPolicyReadsFewerTokensAndRoundTrips() throws {
    var config = VLAConfig.tiny(head: .oft, numActionChunks: 2, textVocabulary: testTokenizer.vocabularySize, patchPool: 2)
    config.vision[0].depth = 2
    config.llm.numHiddenLayers = 2
    #expect(config.patches == 16)
    let pooled = try VLAPolicy(config: config, tokenizer: testTokenizer, generator: Generator(seed: 1))
    let plain = try tinyPolicy(head: .oft, chunks: 2)
    let images = try testImages(2)
    let instructions = ["pick up the red cube", "pick up the blue can"]
    let short = try pooled.encodePrefix(images: images, instructions: instructions, state: nil)
    let long = try plain.encodePrefix(images: images, instructions: instructions, state: nil)
    #expect(long.length - short.length == 48)

    let dir = try temporaryDirectory("patch-pool-checkpoint")
    try VLACheckpoint.save(pooled, to: dir + "/pooled")
    let loaded = try VLACheckpoint.load(from: dir + "/pooled")
    #expect(loaded.config.patchPool == 2)
    let greedy = SamplingSettings(greedy: true)
    let (a, b) = try Autograd.withNoGrad {
      (try pooled.act(images: images, instructions: instructions, sampling: greedy), try loaded.act(images: images, instructions: instructions, sampling: greedy))
    }
    #expect(try a.tokens.ints() == b.tokens.ints())

    var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(config)) as! [String: Any]
    #expect(json["patch_pool"] as? Int == 2)
    json.removeValue(forKey: "patch_pool")
    let decoded = try JSONDecoder().decode(VLAConfig.self, from: JSONSerialization.data(withJSONObject: json))
    #expect(decoded.patchPool == 1)
    // Unpooled configs keep OpenVLA's config.json layout: no patch_pool key is written.
    let unpooled = try JSONSerialization.jsonObject(with: JSONEncoder().encode(decoded)) as! [String: Any]
    #expect(unpooled["patch_pool"] == nil && unpooled["proprio_dim"] != nil)
  }

  @Test func poolThatDoesNotDivideTheGridIsRefused() throws {
    var config = VLAConfig.tiny(head: .oft, textVocabulary: testTokenizer.vocabularySize, patchPool: 3)
    config.vision[0].depth = 2
    #expect(throws: ModelError.self) { try config.validate() }
  }
}
