import Foundation
import Models
import Sim

/// The tiny configuration's tokenizer: a SentencePiece BPE model trained on the instruction
/// prompts of the embedded suite's tasks as it stood when the tokenizer was made. Shipped as
/// configs/tiny-tokenizer.model; `train()` recreates it (training is deterministic), which the
/// tests check.
public enum TinyTokenizer {
  public static let vocabularySize = 96
  public static let shippedPath = "configs/tiny-tokenizer.model"

  /// The corpus, frozen like any released tokenizer's: a checkpoint's token ids depend on it, so
  /// tasks added to the suite later (they reuse these words; a test checks that every task
  /// tokenizes without unknown pieces) must not change it.
  static let corpusTasks = TaskCatalog.trainTasks.map(\.name) + [
    "pick-orange-cube", "pick-red-sphere", "place-red-cylinder-yellow-plate", "push-yellow-cube-purple-marker",
    "stack-purple-cube-orange-cube", "arrange-green-cylinder-right-of-blue-cube", "bowl-yellow-cube-purple-bowl",
    "bowl-red-sphere-blue-bowl",
  ]

  public static func train() throws -> SentencePieceTokenizer {
    let prompts = try corpusTasks.map { try PromptBatchText.prompt(TaskCatalog.named($0).instruction) }
    return try SentencePieceTokenizer.train(sentences: prompts, vocabularySize: vocabularySize)
  }

  /// The shipped model when it is found (relative to `root`), else a freshly trained one.
  public static func load(root: String = FileManager.default.currentDirectoryPath) throws -> SentencePieceTokenizer {
    let path = root + "/" + shippedPath
    if FileManager.default.fileExists(atPath: path) { return try SentencePieceTokenizer(path: path) }
    return try train()
  }
}
