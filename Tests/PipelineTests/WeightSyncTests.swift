import Models
import Pipeline
import Testing
import TestSupport
import Torch

/// Actor -> rollout weight sync: the rollout copy computes what the actor computes, with LoRA
/// adapters merged, and follows every published update.
@Suite struct WeightSyncTests {
  @Test func rolloutCopyFollowsTheActorWithLoRAMerged() throws {
    let tokenizer = try SentencePieceTokenizer(path: repositoryRoot + "/configs/tiny-tokenizer.model")
    var config = VLAConfig.tiny(head: .oft, numActionChunks: 2, textVocabulary: tokenizer.vocabularySize)
    config.valueOutputs = 1
    let actor = try VLAPolicy(config: config, tokenizer: tokenizer, generator: Generator(seed: 3))
    let generator = try Generator(seed: 5)
    let adapters = try LoRA.apply(to: actor.languageModel, rank: 4, alpha: 8, targets: ["q_proj", "v_proj"], generator: generator)
    // Move B off zero so the adapters change the function.
    try Autograd.withNoGrad { for (_, p) in adapters { try p.uniformInPlace(-0.2, 0.2, generator: generator) } }

    let sync = try WeightSync(actor: actor)
    #expect(sync.version == 0)
    #expect(sync.rolloutPolicy.namedParameters().allSatisfy { !$0.name.contains("lora") })
    let images = try Tensor.randint(0, 256, shape: [3, 64, 64, 3], generator: generator).to(dtype: .uint8)
    let instructions = ["pick up the red cube", "push the red cube to the green marker", "pick up the blue cube"]
    func outputs(_ policy: VLAPolicy) throws -> (tokens: [Double], values: [Double]) {
      try Autograd.withNoGrad {
        let out = try policy.act(images: images, instructions: instructions, sampling: SamplingSettings(greedy: true))
        return (try out.tokens.doubles(), try out.values!.doubles())
      }
    }
    let a = try outputs(actor), r = try outputs(sync.rolloutPolicy)
    #expect(a.tokens == r.tokens)
    #expect(zip(a.values, r.values).allSatisfy { abs($0 - $1) < 1e-4 })

    // An update on the actor reaches the rollout copy only when published.
    try Autograd.withNoGrad { for (_, p) in adapters { try p.uniformInPlace(-0.5, 0.5, generator: generator) } }
    let updated = try outputs(actor)
    #expect(updated.values != a.values)
    #expect(try outputs(sync.rolloutPolicy).values == r.values)
    try sync.publish(from: actor)
    #expect(sync.version == 1)
    let synced = try outputs(sync.rolloutPolicy)
    #expect(synced.tokens == updated.tokens)
    #expect(zip(synced.values, updated.values).allSatisfy { abs($0 - $1) < 1e-4 })
  }

  @Test func rolloutCopyLivesOnItsOwnDevice() throws {
    let tokenizer = try SentencePieceTokenizer(path: repositoryRoot + "/configs/tiny-tokenizer.model")
    let config = VLAConfig.tiny(head: .oft, numActionChunks: 2, textVocabulary: tokenizer.vocabularySize)
    let actor = try VLAPolicy(config: config, tokenizer: tokenizer, generator: Generator(seed: 3))
    // meta stands in for a second device: the copy goes across, the actor stays where it is.
    let sync = try WeightSync(actor: actor, device: .meta)
    #expect(sync.rolloutPolicy.device == .meta)
    #expect(sync.rolloutPolicy.parameters.allSatisfy { $0.device == .meta && !$0.requiresGrad })
    #expect(actor.device == .cpu)
    try sync.publish(from: actor)
    #expect(sync.version == 1 && sync.rolloutPolicy.device == .meta)
    #expect(throws: TorchError.self) { try WeightSync(actor: actor, device: TorchRuntime.cudaAvailable ? .cuda(99) : .cuda(0)) }
  }
}
