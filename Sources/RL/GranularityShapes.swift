import Config
import Torch

/// Moves per-token quantities to the granularity a knob asks for, and broadcasts per-sample
/// quantities onto it. Shapes, for N samples (one per env per chunk step), K actions per chunk:
///   token_level  [N, K, 7]
///   action_level [N, K]      (sum over the 7 tokens of an action)
///   chunk_level  [N, 1]      (sum over the whole chunk)
public enum GranularityShapes {
  /// Sums token-level log-probs or entropies [N, K, 7] down to `level`.
  public static func reduce(_ tokens: Tensor, to level: Granularity) throws -> Tensor {
    switch level {
    case .tokenLevel: tokens
    case .actionLevel: try tokens.sum(dims: [2])
    case .chunkLevel: try tokens.sum(dims: [1, 2]).unsqueeze(1)
    }
  }

  /// Spreads per-sample advantages [N, G] (G = 1 per chunk or K per action) over a `level`
  /// tensor: each token (or action) of an action gets its action's (or chunk's) advantage.
  public static func broadcast(_ perSample: Tensor, to level: Granularity, chunk: Int) throws -> Tensor {
    let n = perSample.size(0), g = perSample.size(1)
    guard g == 1 || g == chunk else { throw TorchError("advantages have \(g) entries per sample; expected 1 or \(chunk)") }
    switch level {
    case .tokenLevel: return try perSample.unsqueeze(2).expand([n, chunk, 7]).contiguous()
    case .actionLevel: return try perSample.expand([n, chunk]).contiguous()
    case .chunkLevel:
      guard g == 1 else { throw TorchError("chunk_level log-probs need one advantage per chunk, got \(g)") }
      return perSample
    }
  }

  /// The loss mask per sample [N] as a tensor of `level`'s shape.
  public static func mask(_ perSample: Tensor, to level: Granularity, chunk: Int) throws -> Tensor {
    try broadcast(perSample.unsqueeze(1), to: level, chunk: chunk)
  }
}
