import Torch

/// OpenVLA's prompt template.
public enum PromptBatchText {
  public static func prompt(_ instruction: String) -> String {
    "In: What action should the robot take to \(instruction.lowercased())?\nOut:"
  }
}

/// A batch of prompts laid out as OpenVLA does, left-padded so every sequence ends at the same
/// position: [pads, BOS, image patches, prompt text]. Text follows OpenVLA's template:
/// "In: What action should the robot take to {instruction}?\nOut:".
struct PromptBatch {
  /// Embeddings [B, T, D] of the whole prefix.
  let embeddings: Tensor
  /// Real (non-padding) positions [B, T] bool.
  let valid: Tensor
  /// Rotary positions [B, T] int64: 0 at each sequence's BOS, counting real tokens only.
  let positions: Tensor
  /// Per row: how many leading pads.
  let padding: [Int]

  var length: Int { embeddings.size(1) }

  static func prompt(_ instruction: String) -> String { PromptBatchText.prompt(instruction) }

  /// text: per row, token ids of BOS + prompt. patches: projected image features [B, P, D].
  init(textTokens text: [[Int]], patches: Tensor, embed: Embedding) throws {
    let b = text.count
    let p = patches.size(1)
    let longest = text.map(\.count).max() ?? 0
    padding = text.map { longest - $0.count }
    // Text ids left-padded with the first real token (masked out anyway).
    let ids = zip(text, padding).flatMap { row, pad in Array(repeating: Int64(row[0]), count: pad) + row.map(Int64.init) }
    let on = patches.device
    let textEmbeddings = try embed(Tensor(ids, shape: [b, longest]).to(device: on))  // [B, L, D]
    let pool = try Tensor.cat([textEmbeddings, patches.to(dtype: textEmbeddings.dtype)], dim: 1)  // [B, L + P, D]
    // Row i gathers: pads and BOS from text slots 0 ... pad, patches from slots L ..< L + P, then
    // the rest of the text.
    var index: [Int64] = []
    var validity: [Bool] = []
    for pad in padding {
      index += (0...pad).map(Int64.init) + (0..<p).map { Int64(longest + $0) } + ((pad + 1)..<longest).map(Int64.init)
      validity += Array(repeating: false, count: pad) + Array(repeating: true, count: longest + p - pad)
    }
    let total = longest + p
    let gatherIndex = try Tensor(index, shape: [b, total, 1]).to(device: on).expand([b, total, pool.size(2)])
    embeddings = try pool.gather(dim: 1, index: gatherIndex)
    valid = try Tensor(validity, shape: [b, total]).to(device: on)
    positions = try (valid.to(dtype: .int64).cumsum(dim: 1) - 1).clamp(min: 0)
  }

  /// Causal mask over the prefix with padding keys removed: [B, 1, T, T].
  func causalMask() throws -> Tensor { try Self.causalMask(valid: valid) }

  /// Causal mask over T positions with the keys where `valid` [B, T] is false removed: [B, 1, T, T].
  static func causalMask(valid: Tensor) throws -> Tensor {
    let t = valid.size(1)
    return try Attention.causalMask(queries: t, keys: t, device: valid.device).unsqueeze(0).unsqueeze(0).logicalAnd(Attention.paddingMask(valid: valid))
  }
}
