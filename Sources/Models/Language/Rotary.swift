import Torch

/// Rotary position embeddings as Hugging Face's Llama applies them: the head dimension split in
/// halves, rotated by angle position / theta^(2i/d).
struct Rotary {
  let headDim: Int
  let theta: Double

  /// cos and sin for positions [B, T] (int64) -> each [B, 1, T, hd], to broadcast over heads.
  func tables(positions: Tensor) throws -> (cos: Tensor, sin: Tensor) {
    let half = headDim / 2
    let on = positions.device
    let exponents = try Tensor.arange(0, Double(headDim), step: 2, dtype: .float32, device: on) / Double(headDim)  // [hd/2]
    let inverseFrequency = try Tensor.full([half], value: theta, device: on).pow(exponents).reciprocal()
    let angles = try positions.to(dtype: .float32).unsqueeze(-1) * inverseFrequency  // [B, T, hd/2]
    let doubled = try Tensor.cat([angles, angles], dim: -1).unsqueeze(1)            // [B, 1, T, hd]
    return (try doubled.cos(), try doubled.sin())
  }

  /// x [B, H, T, hd] rotated: x cos + rotate_half(x) sin, rotate_half(x) = [-x2, x1].
  func apply(_ x: Tensor, cos: Tensor, sin: Tensor) throws -> Tensor {
    let half = headDim / 2
    let x1 = try x.slice(dim: -1, start: 0, end: half)
    let x2 = try x.slice(dim: -1, start: half)
    let rotated = try Tensor.cat([-x2, x1], dim: -1)
    return try (x * cos.to(dtype: x.dtype)) + (rotated * sin.to(dtype: x.dtype))
  }
}
