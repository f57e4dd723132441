import Foundation
import Testing
import TestSupport
import Torch

@testable import Models

@Suite struct TokenizerTests {
  @Test func sentencePieceRoundTrip() throws {
    let text = PromptBatch.prompt("stack the red cube on the blue can")
    let ids = try testTokenizer.encode(text)
    #expect(!ids.isEmpty && ids.allSatisfy { $0 >= 0 && $0 < testTokenizer.vocabularySize })
    let decoded = try testTokenizer.decode(ids)
    #expect(decoded == text, "decoded \"\(decoded)\"")
    #expect(testTokenizer.bosID == 1 && testTokenizer.padID == 3)
    // Deterministic: the same sentences give the same model.
    let again = try SentencePieceTokenizer(modelBytes: testTokenizer.modelBytes)
    #expect(try again.encode(text) == ids)
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
    let bins = try JSONDecoder().decode([Int].self, from: Data(runPython(parityScript, ["actions", dir + "/v.safetensors"]).utf8))
    let tokenizer = ActionTokenizer(vocabularySize: 32064)
    for (value, bin) in zip(values, bins) {
      let token = tokenizer.token(for: value)
      #expect(token == 32064 - bin, "value \(value)")
      #expect(token >= 32064 - 256 && token < 32064)
      let clipped = min(max(value, -1), 1)
      if clipped < 1 { #expect(Swift.abs(tokenizer.value(for: token) - clipped) <= 1.0 / 255 + 1e-9, "value \(value)") }
    }
    #expect(tokenizer.value(for: 32063) == ActionTokenizer.centres[0])
    #expect(ActionTokenizer.centresByIndex[255] == ActionTokenizer.centres[0])
    #expect(ActionStatistics.identity.unnormalize([0.5, -0.5, 0, 0, 0, 0, 0.3]) == [0.5, -0.5, 0, 0, 0, 0, 1])
    let stats = ActionStatistics(q01: Array(repeating: 0, count: 7), q99: Array(repeating: 2, count: 7), mask: Array(repeating: true, count: 6) + [false])
    #expect(stats.unnormalize([-1, 1, 0, 0, 0, 0, -0.2]) == [0, 2, 1, 1, 1, 1, -1])
  }
}
