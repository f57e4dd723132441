import Foundation
import Testing
import TestSupport
import Torch

@testable import Models

@Suite struct TokenizerTests {
  /// Our trained model, read by the sentencepiece Python package, gives the same ids.
  @Test func sentencePieceMatchesThePythonPackage() throws {
    let dir = try temporaryDirectory("sentencepiece")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try testTokenizer.modelBytes.write(to: URL(fileURLWithPath: dir + "/m.model"))
    struct Reference: Decodable { let ids: [Int]; let decoded: String; let bos: Int; let pad: Int; let vocabulary: Int }
    for text in [PromptBatch.prompt("stack the red cube on the blue can"), "pick up the zebra", "In: 7 x?"] {
      let python = try JSONDecoder().decode(Reference.self, from: Data(runPython(parityScript, ["sentencepiece", dir + "/m.model", text]).utf8))
      let ids = try testTokenizer.encode(text)
      #expect(ids == python.ids, "\(text)")
      #expect(try testTokenizer.decode(ids) == python.decoded)
      #expect(testTokenizer.bosID == python.bos && testTokenizer.padID == python.pad && testTokenizer.vocabularySize == python.vocabulary)
    }
    #expect(testTokenizer.bosID == 1 && testTokenizer.padID == 3)
    // The model's bytes load back into a tokenizer that encodes alike.
    let again = try SentencePieceTokenizer(modelBytes: testTokenizer.modelBytes)
    let text = PromptBatch.prompt("put the green ball on the purple can")
    #expect(try again.encode(text) == testTokenizer.encode(text))
    #expect(throws: ModelError.self) { try SentencePieceTokenizer(modelBytes: Data([1, 2, 3])) }
  }

  /// Action bins agree with numpy.digitize over linspace(-1, 1, 256), and decoding returns the
  /// bin centre, within half a bin of the value.
  @Test func actionTokensMatchNumpy() throws {
    let dir = try temporaryDirectory("action-bins")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var values = (0..<400).map { _ in Double.random(in: -1.2...1.2) }
    values += [-1, 1, 0, -0.99999, 0.99999] + ActionTokenizer.edges
    try SafeTensorsWriter.write(["values": Tensor(values)], to: dir + "/v.safetensors")
    struct Reference: Decodable { let bins: [Int]; let tokens: [Int]; let decoded: [Double] }
    let reference = try JSONDecoder().decode(Reference.self, from: Data(runPython(parityScript, ["actions", dir + "/v.safetensors"]).utf8))
    let tokenizer = ActionTokenizer(vocabularySize: 32064)
    for (value, bin) in zip(values, reference.bins) {
      let token = tokenizer.token(for: value)
      #expect(token == 32064 - bin, "value \(value)")
      #expect(token >= 32064 - 256 && token < 32064)
      let clipped = min(max(value, -1), 1)
      if clipped < 1 { #expect(Swift.abs(tokenizer.value(for: token) - clipped) <= 1.0 / 255 + 1e-9, "value \(value)") }
    }
    // Every action token decodes to OpenVLA's bin centre.
    #expect(reference.tokens.count == 256)
    for (token, centre) in zip(reference.tokens, reference.decoded) {
      #expect(Swift.abs(tokenizer.value(for: token) - centre) < 1e-12, "token \(token)")
    }
    #expect(ActionStatistics.identity.unnormalize([0.5, -0.5, 0, 0, 0, 0, 0.3]) == [0.5, -0.5, 0, 0, 0, 0, 1])
    let stats = ActionStatistics(q01: Array(repeating: 0, count: 7), q99: Array(repeating: 2, count: 7), mask: Array(repeating: true, count: 6) + [false])
    #expect(stats.unnormalize([-1, 1, 0, 0, 0, 0, -0.2]) == [0, 2, 1, 1, 1, 1, -1])
  }
}
