import Foundation
import TestSupport
import Torch

@testable import Models

let parityScript = repositoryRoot + "/Tests/ModelsTests/Reference/parity.py"

/// A small tokenizer trained on robot instructions (shared by the tests; training takes ~50 ms).
let testTokenizer: SentencePieceTokenizer = {
  let objects = ["red cube", "blue can", "green ball", "yellow cube", "purple can", "orange ball"]
  var sentences: [String] = []
  for a in objects {
    for b in objects where a != b {
      for verb in ["pick up the \(a)", "put the \(a) on the \(b)", "stack the \(a) on the \(b)", "move the \(a) to the left of the \(b)"] {
        sentences.append(PromptBatch.prompt(verb))
      }
    }
  }
  return try! SentencePieceTokenizer.train(sentences: sentences, vocabularySize: 96)
}()

/// A tiny policy with seeded weights (reading a state of `proprioDim` values when it is > 0).
func tinyPolicy(head: ActionHead, chunks: Int = 1, proprioDim: Int = 0, seed: UInt64 = 1) throws -> VLAPolicy {
  var config = VLAConfig.tiny(head: head, numActionChunks: chunks, textVocabulary: testTokenizer.vocabularySize, proprioDim: proprioDim)
  config.vision[0].depth = 2
  config.llm.numHiddenLayers = 2
  return try VLAPolicy(config: config, tokenizer: testTokenizer, generator: Generator(seed: seed))
}

/// Seeded uint8 images [B, 64, 64, 3].
func testImages(_ b: Int, seed: UInt64 = 3) throws -> Tensor {
  try Tensor.randint(0, 256, shape: [b, 64, 64, 3], generator: Generator(seed: seed)).to(dtype: .uint8)
}

func maxDifference(_ a: Tensor, _ b: Tensor) throws -> Double {
  try (a.to(dtype: .float64) - b.to(dtype: .float64)).abs().max().item()
}
