import Foundation
import Models
import Sim

/// The tiny configuration's tokenizer: a SentencePiece BPE model trained on every instruction
/// prompt of the embedded suite. Shipped as configs/tiny-tokenizer.model; `train()` recreates it
/// (training is deterministic), which the tests check.
public enum TinyTokenizer {
  public static let vocabularySize = 96
  public static let shippedPath = "configs/tiny-tokenizer.model"

  public static func train() throws -> SentencePieceTokenizer {
    let prompts = TaskCatalog.allTasks.map { PromptBatchText.prompt($0.instruction) }
    return try SentencePieceTokenizer.train(sentences: prompts, vocabularySize: vocabularySize)
  }

  /// The shipped model when it is found (relative to `root`), else a freshly trained one.
  public static func load(root: String = FileManager.default.currentDirectoryPath) throws -> SentencePieceTokenizer {
    let path = root + "/" + shippedPath
    if FileManager.default.fileExists(atPath: path) { return try SentencePieceTokenizer(path: path) }
    return try train()
  }
}
