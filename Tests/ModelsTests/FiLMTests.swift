import Foundation
import Testing
import TestSupport
import Torch

@testable import Models

/// FiLM (`use_film`): the instruction's mean token embedding scales and shifts every vision block
/// the policy reads, so the patch features depend on what was asked.
@Suite struct FiLMTests {
  static func filmPolicy(seed: UInt64 = 1) throws -> VLAPolicy {
    var config = VLAConfig.tiny(head: .oft, numActionChunks: 2, textVocabulary: testTokenizer.vocabularySize, film: true)
    config.vision[0].depth = 3
    config.llm.numHiddenLayers = 2
    return try VLAPolicy(config: config, tokenizer: testTokenizer, generator: Generator(seed: seed))
  }

  static let instructions = ["pick up the red cube", "pick up the blue can"]

  /// A fresh FiLM is the identity: the patch features are the plain encoder's.
  @Test func freshFiLMChangesNothing() throws {
    let policy = try Self.filmPolicy()
    let images = try testImages(2)
    let vit = policy.visionBackbone.featurizer
    try Autograd.withNoGrad {
      let plain = try vit.patchFeatures(vit.normalize(images))
      let language = try Tensor.randn([2, policy.config.llm.hiddenSize], generator: Generator(seed: 3))
      let modulated = try policy.visionBackbone(images, language: language)
      #expect(try maxDifference(plain, modulated) == 0)
    }
    #expect(policy.namedParameters().map(\.name).contains("vision_backbone.film.1.bias"))
    #expect(!policy.namedParameters().map(\.name).contains("vision_backbone.film.2.weight"), "one map per block the policy reads (depth - 1)")
  }

  /// Trained FiLM: the features are the blocks' outputs modulated as x (1 + scale) + shift, with
  /// (scale, shift) a linear map of the prompt's mean token embedding, composed here from the
  /// encoder's own blocks and the embedding table; and the instruction now changes them.
  @Test func modulationFollowsTheInstruction() throws {
    let policy = try Self.filmPolicy()
    let generator = try Generator(seed: 5)
    try Autograd.withNoGrad { for map in policy.visionBackbone.film!.maps.modules { try map.weight.normalInPlace(std: 0.05, generator: generator) } }
    let images = try testImages(1).expand([2, 64, 64, 3]).contiguous()  // the same image twice
    try Autograd.withNoGrad {
      let ids = try Self.instructions.map { [testTokenizer.bosID] + (try testTokenizer.encode(PromptBatch.prompt($0))) }
      let language = try Tensor.stack(ids.map { row in
        try policy.languageModel.model.embedTokens(Tensor(row.map(Int64.init), shape: [row.count])).mean(dims: [0])
      }, dim: 0)  // [2, D]
      let vit = policy.visionBackbone.featurizer
      var x = try vit.embed(vit.normalize(images))
      for (block, map) in zip(vit.blocks.modules.dropLast(), policy.visionBackbone.film!.maps.modules) {
        let both = try map(language).unsqueeze(1), d = vit.config.embedDim
        x = try block(x) * (both.slice(dim: 2, start: 0, end: d) + 1.0) + both.slice(dim: 2, start: d)
      }
      let expected = try x.slice(dim: 1, start: vit.config.prefixTokens)
      let prefix = try policy.encodePrefix(images: images, instructions: Self.instructions, state: nil)
      let features = try policy.visionBackbone(images, language: language)
      #expect(try maxDifference(features, expected) < 1e-5)
      #expect(try maxDifference(features.select(dim: 0, index: 0), features.select(dim: 0, index: 1)) > 1e-3, "two instructions, one image: other features")
      #expect(prefix.length > 0)
    }
  }

  @Test func settingSurvivesACheckpoint() throws {
    let policy = try Self.filmPolicy(seed: 2)
    try Autograd.withNoGrad { try policy.visionBackbone.film!.maps.modules[0].bias!.fillInPlace(0.3) }
    let dir = try temporaryDirectory("film-checkpoint")
    try VLACheckpoint.save(policy, to: dir + "/p")
    let loaded = try VLACheckpoint.load(from: dir + "/p")
    #expect(loaded.config.film)
    let images = try testImages(2)
    let (a, b) = try Autograd.withNoGrad {
      (try policy.act(images: images, instructions: Self.instructions, sampling: SamplingSettings(greedy: true)),
       try loaded.act(images: images, instructions: Self.instructions, sampling: SamplingSettings(greedy: true)))
    }
    #expect(try maxDifference(a.logProbs, b.logProbs) < 1e-6)
  }
}
