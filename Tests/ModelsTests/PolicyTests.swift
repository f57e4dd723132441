import Foundation
import Testing
import TestSupport
import Torch

@testable import Models

@Suite struct PolicyTests {
  static let instructions = ["pick up the red cube", "stack the blue can on the green ball", "move the yellow cube to the left of the red cube"]

  @Test(arguments: [(ActionHead.openvla, 1), (ActionHead.oft, 1), (ActionHead.oft, 3)])
  func outputsHaveTheDocumentedShapes(head: ActionHead, chunks: Int) throws {
    let policy = try tinyPolicy(head: head, chunks: chunks)
    let out = try Autograd.withNoGrad {
      try policy.act(images: testImages(3), instructions: Self.instructions, sampling: SamplingSettings(temperature: 1.0), generator: Generator(seed: 1))
    }
    #expect(out.actions.shape == [3, chunks, 7] && out.tokens.shape == [3, chunks, 7])
    #expect(out.logProbs.shape == [3, chunks, 7] && out.entropies.shape == [3, chunks, 7])
    #expect(out.values?.shape == [3, 1])
    let first = policy.actionTokenizer.firstActionID
    #expect(try out.tokens.ints().allSatisfy { $0 >= first && $0 < policy.config.llm.vocabSize })
    #expect(try out.actions.floats().allSatisfy { Swift.abs($0) <= 1 })
    #expect(try out.logProbs.floats().allSatisfy { $0 <= 0 })
    #expect(try out.entropies.floats().allSatisfy { $0 >= 0 && $0 <= Float(log(256.0)) + 1e-4 })
    #expect(try out.actionLogProbs().shape == [3, chunks] && out.chunkLogProbs().shape == [3])
    // Decoded actions are the bin centres of the tokens.
    let tokens = try out.tokens.ints(), actions = try out.actions.floats()
    for (token, action) in zip(tokens, actions) {
      #expect(Swift.abs(Double(action) - policy.actionTokenizer.value(for: token)) < 1e-6)
    }
  }

  /// Training recomputes exactly what rollout sampled: log-probs, entropies and values from one
  /// teacher-forced forward equal those of the (KV-cached, for OpenVLA) rollout.
  @Test(arguments: [ActionHead.openvla, ActionHead.oft])
  func teacherForcedRecomputationMatchesRollout(head: ActionHead) throws {
    let policy = try tinyPolicy(head: head, chunks: head == .oft ? 2 : 1)
    let images = try testImages(3)
    for sampling in [SamplingSettings(temperature: 1.0), SamplingSettings(temperature: 0.7, topK: 20), SamplingSettings(greedy: true)] {
      let rollout = try Autograd.withNoGrad {
        try policy.act(images: images, instructions: Self.instructions, sampling: sampling, generator: Generator(seed: 4))
      }
      let recomputed = try policy.evaluate(images: images, instructions: Self.instructions, tokens: rollout.tokens, sampling: sampling)
      #expect(try maxDifference(rollout.logProbs, recomputed.logProbs) < 1e-4, "\(sampling)")
      #expect(try maxDifference(rollout.entropies, recomputed.entropies) < 1e-4)
      #expect(try maxDifference(rollout.values!, recomputed.values!) < 1e-5)
      #expect(try recomputed.tokens.ints() == rollout.tokens.ints())
      #expect(recomputed.logProbs.requiresGrad, "differentiable for PPO")
    }
  }

  /// Left padding is invisible: each row of a batch equals that instruction run alone.
  @Test(arguments: [ActionHead.openvla, ActionHead.oft])
  func paddedBatchEqualsSingleRows(head: ActionHead) throws {
    let policy = try tinyPolicy(head: head)
    let images = try testImages(3)
    let greedy = SamplingSettings(greedy: true)
    let batch = try Autograd.withNoGrad { try policy.act(images: images, instructions: Self.instructions, sampling: greedy) }
    for i in 0..<3 {
      let single = try Autograd.withNoGrad {
        try policy.act(images: images.slice(dim: 0, start: i, end: i + 1), instructions: [Self.instructions[i]], sampling: greedy)
      }
      #expect(try maxDifference(batch.logProbs.slice(dim: 0, start: i, end: i + 1), single.logProbs) < 1e-4, "row \(i)")
      #expect(try batch.tokens.slice(dim: 0, start: i, end: i + 1).ints() == single.tokens.ints())
    }
  }

  /// OFT's action block is bidirectional: the first chunk's distributions change when a second
  /// chunk of positions follows (with a causal block they could not). The prompt stays causal:
  /// the value, read before the action block, does not change.
  @Test func oftActionBlockIsBidirectional() throws {
    let one = try tinyPolicy(head: .oft, chunks: 1, seed: 9)
    let two = try tinyPolicy(head: .oft, chunks: 2, seed: 9)
    try two.loadParameters(one.stateDict())
    let images = try testImages(2)
    let instructions = Array(Self.instructions.prefix(2))
    let (a, b) = try Autograd.withNoGrad {
      (try one.act(images: images, instructions: instructions, sampling: SamplingSettings(greedy: true)),
       try two.act(images: images, instructions: instructions, sampling: SamplingSettings(greedy: true)))
    }
    #expect(try maxDifference(a.entropies, b.entropies.slice(dim: 1, start: 0, end: 1)) > 1e-4)
    #expect(try maxDifference(a.values!, b.values!) < 1e-6)
  }

  @Test func badInputsAreNamed() throws {
    let policy = try tinyPolicy(head: .openvla)
    #expect(throws: ModelError.self) { try policy.act(images: testImages(2), instructions: ["one"], sampling: SamplingSettings()) }
    #expect(throws: ModelError.self) {
      try policy.act(images: Tensor.zeros([1, 32, 32, 3], dtype: .uint8), instructions: ["one"], sampling: SamplingSettings())
    }
    var config = policy.config
    config.valueOutputs = 5
    #expect(throws: ModelError.self) { try VLAPolicy(config: config, tokenizer: testTokenizer) }
  }

  /// Save and load give the same policy; a value head can be attached to a checkpoint without one;
  /// missing and mis-shaped tensors are errors that name them.
  @Test func checkpointRoundTrip() throws {
    let dir = try temporaryDirectory("vla-checkpoint")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let policy = try tinyPolicy(head: .oft, chunks: 2)
    try VLACheckpoint.save(policy, to: dir + "/a", maxShardBytes: 400_000)
    let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/a")
    #expect(files.contains("model.safetensors.index.json") && files.contains("config.json") && files.contains("tokenizer.model"))
    let loaded = try VLACheckpoint.load(from: dir + "/a")
    #expect(loaded.config == policy.config)
    let images = try testImages(2)
    let instructions = Array(Self.instructions.prefix(2))
    let greedy = SamplingSettings(greedy: true)
    let (x, y) = try Autograd.withNoGrad {
      (try policy.act(images: images, instructions: instructions, sampling: greedy),
       try loaded.act(images: images, instructions: instructions, sampling: greedy))
    }
    #expect(try maxDifference(x.logProbs, y.logProbs) == 0 && maxDifference(x.values!, y.values!) == 0)
    #expect(policy.namedParameters().contains { $0.name == "language_model.model.layers.1.self_attn.q_proj.weight" })
    #expect(policy.namedParameters().contains { $0.name == "vision_backbone.featurizer.blocks.0.attn.qkv.weight" })

    // bf16 weights load into the float32 model.
    try VLACheckpoint.save(policy, to: dir + "/bf16", dtype: .bfloat16)
    #expect(try VLACheckpoint.load(from: dir + "/bf16").config == policy.config)

    // A checkpoint without a critic (SFT): load it, then attach one.
    var noCritic = policy.config
    noCritic.valueOutputs = 0
    let sft = try VLAPolicy(config: noCritic, tokenizer: testTokenizer)
    try VLACheckpoint.save(sft, to: dir + "/sft")
    let restored = try VLACheckpoint.load(from: dir + "/sft")
    #expect(restored.valueHead == nil)
    _ = try restored.attachValueHead(outputs: 2)
    let withCritic = try Autograd.withNoGrad { try restored.act(images: images, instructions: instructions, sampling: greedy) }
    #expect(withCritic.values?.shape == [2, 2])
    // Saved with its new critic, it describes and reloads it.
    try VLACheckpoint.save(restored, to: dir + "/rl")
    let reloaded = try VLACheckpoint.load(from: dir + "/rl")
    #expect(reloaded.config.valueOutputs == 2 && reloaded.valueHead != nil)

    // Errors name the tensor.
    try SafeTensorsWriter.write(["language_model.lm_head.weight": Tensor.zeros([3, 3])], to: dir + "/sft/model.safetensors")
    do {
      _ = try VLACheckpoint.load(from: dir + "/sft")
      Issue.record("a broken checkpoint loaded")
    } catch {
      #expect("\(error)".contains("lacks") && "\(error)".contains("vision_backbone"))
    }
  }
}

@Suite struct ProprioTests {
  /// With proprio_dim > 0 the state is one more token: required, and it changes the output.
  @Test func stateTokenIsUsed() throws {
    let policy = try tinyPolicy(head: .oft, chunks: 2, proprioDim: 8)
    #expect(policy.namedParameters().contains { $0.name == "proprio_projector.fc1.weight" })
    let images = try testImages(2)
    let instructions = ["pick up the red cube", "pick up the red cube"]
    #expect(throws: ModelError.self) { try policy.act(images: images, instructions: instructions, sampling: SamplingSettings()) }
    let a = try Tensor.zeros([2, 8]), b = try Tensor.ones([2, 8])
    let (x, y) = try Autograd.withNoGrad {
      (try policy.act(images: images, instructions: instructions, state: a, sampling: SamplingSettings(greedy: true)),
       try policy.act(images: images, instructions: instructions, state: b, sampling: SamplingSettings(greedy: true)))
    }
    #expect(try maxDifference(x.entropies, y.entropies) > 1e-5)
    let recomputed = try policy.evaluate(images: images, instructions: instructions, state: a, tokens: x.tokens, sampling: SamplingSettings(greedy: true))
    #expect(try maxDifference(recomputed.logProbs, x.logProbs) < 1e-4)
  }
}

@Suite struct FusedBackboneTests {
  /// OpenVLA's fused backbone: a DINOv2-style and a SigLIP-style encoder side by side, features
  /// concatenated, fused-gelu-mlp projector (fc1, fc2, fc3).
  @Test func fusedEncodersFeedTheProjector() throws {
    var config = VLAConfig.tiny(head: .openvla, textVocabulary: testTokenizer.vocabularySize)
    config.vision = [
      .dinov2(imageSize: 64, patchSize: 8, embedDim: 48, depth: 2, numHeads: 4, registers: 2),
      .siglip(imageSize: 64, patchSize: 8, embedDim: 32, depth: 2, numHeads: 4),
    ]
    config.llm.numHiddenLayers = 2
    let policy = try VLAPolicy(config: config, tokenizer: testTokenizer, generator: Generator(seed: 2))
    let names = Set(policy.namedParameters().map(\.name))
    #expect(names.contains("vision_backbone.fused_featurizer.blocks.1.mlp.fc2.weight"))
    #expect(names.contains("vision_backbone.featurizer.reg_token") && names.contains("vision_backbone.featurizer.blocks.0.ls1.gamma"))
    #expect(names.contains("projector.fc3.weight"))
    let features = try Autograd.withNoGrad { try policy.visionBackbone(testImages(2)) }
    #expect(features.shape == [2, 64, 80])
    let out = try Autograd.withNoGrad { try policy.act(images: testImages(2), instructions: ["pick up the red cube", "pick up the red cube"], sampling: SamplingSettings()) }
    #expect(out.actions.shape == [2, 1, 7])
    var mismatched = config
    mismatched.vision[1].patchSize = 16
    #expect(throws: ModelError.self) { try VLAPolicy(config: mismatched, tokenizer: testTokenizer) }
  }
}
