import Torch

/// Keys and values of every layer for the positions decoded so far ([B, KV, S, hd] each, after
/// rotary embedding), so that each new token costs one position of attention, not a recompute.
public final class KVCache {
  var keys: [Tensor?]
  var values: [Tensor?]

  public init(layers: Int) {
    keys = Array(repeating: nil, count: layers)
    values = Array(repeating: nil, count: layers)
  }

  /// Positions held.
  public var length: Int { keys.first??.size(2) ?? 0 }

  /// Appends new keys/values for `layer` and returns the full ones.
  func append(layer: Int, keys newKeys: Tensor, values newValues: Tensor) throws -> (Tensor, Tensor) {
    let k = try keys[layer].map { try Tensor.cat([$0, newKeys], dim: 2) } ?? newKeys
    let v = try values[layer].map { try Tensor.cat([$0, newValues], dim: 2) } ?? newValues
    keys[layer] = k
    values[layer] = v
    return (k, v)
  }
}
