import Foundation
import Testing
import TestSupport
import Torch

@testable import Models

/// The Llama decoder and the vision transformers against transformers and timm on the same
/// random weights (exchanged as safetensors), to 1e-4 in float32.
@Suite struct ParityTests {
  @Test func llamaMatchesTransformers() throws {
    let dir = try temporaryDirectory("llama-parity")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let config = LlamaConfig(
      vocabSize: 97, hiddenSize: 64, intermediateSize: 112, numHiddenLayers: 3, numAttentionHeads: 4,
      numKeyValueHeads: 2, rmsNormEps: 1e-6, ropeTheta: 10000, maxPositionEmbeddings: 64)
    try JSONEncoder().encode(config).write(to: URL(fileURLWithPath: dir + "/config.json"))
    try runPython(parityScript, ["llama", dir])
    let model = try LlamaForCausalLM(config)
    try model.loadParameters(from: [SafeTensorsFile(path: dir + "/weights.safetensors")])
    let io = try SafeTensorsFile(path: dir + "/io.safetensors")
    let logits = try Autograd.withNoGrad { try model.logits(tokens: io.tensor("tokens")) }
    let reference = try io.tensor("logits")
    #expect(logits.shape == reference.shape)
    #expect(try maxDifference(logits, reference) < 1e-4)

    // The KV cache: decoding the last 5 tokens one at a time gives the same logits.
    let tokens = try io.tensor("tokens")
    let cache = KVCache(layers: 3)
    let prefixLength = 8
    try Autograd.withNoGrad {
      let prefix = try tokens.slice(dim: 1, start: 0, end: prefixLength)
      _ = try model.model(
        embeddings: model.model.embedTokens(prefix), positions: Tensor.arange(0, Double(prefixLength)).unsqueeze(0).expand([2, prefixLength]),
        mask: Attention.causalMask(queries: prefixLength, keys: prefixLength).unsqueeze(0).unsqueeze(0), cache: cache)
      for position in prefixLength..<13 {
        let hidden = try model.model(
          embeddings: model.model.embedTokens(tokens.slice(dim: 1, start: position, end: position + 1)),
          positions: Tensor.full([2, 1], value: Double(position), dtype: .int64),
          mask: Tensor.ones([1, 1, 1, position + 1], dtype: .bool), cache: cache)
        let step = try model.lmHead(hidden)
        #expect(try maxDifference(step, reference.slice(dim: 1, start: position, end: position + 1)) < 1e-4)
      }
    }
    #expect(cache.length == 13)
  }

  @Test(arguments: ["dinov2", "siglip", "plain"])
  func vitMatchesTimm(variant: String) throws {
    let dir = try temporaryDirectory("vit-parity")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let config: ViTConfig = switch variant {
    case "dinov2": .dinov2(imageSize: 28, patchSize: 7, embedDim: 48, depth: 3, numHeads: 4, registers: 4)
    case "siglip": .siglip(imageSize: 32, patchSize: 8, embedDim: 40, depth: 3, numHeads: 4, mlpRatio: 3)
    default: VLAConfig.tiny(head: .oft, textVocabulary: 100).vision[0]
    }
    try JSONEncoder().encode(config).write(to: URL(fileURLWithPath: dir + "/config.json"))
    try runPython(parityScript, ["vit", dir])
    let vit = try VisionTransformer(config)
    try vit.loadParameters(from: [SafeTensorsFile(path: dir + "/weights.safetensors")])
    let io = try SafeTensorsFile(path: dir + "/io.safetensors")
    try Autograd.withNoGrad {
      let images = try io.tensor("images")
      #expect(try maxDifference(vit.forwardFeatures(images), io.tensor("features")) < 1e-4)
      #expect(try maxDifference(vit.patchFeatures(images), io.tensor("intermediate")) < 1e-4)
    }
  }
}
