// The Swift half of tools/bench-tensor: times forward+backward of a small pre-norm transformer
// block and the per-op dispatch cost, printing `name value` lines that the script tabulates next
// to the same measurements made by PyTorch from Python.
//
// usage: bench-tensor-swift THREADS ITERATIONS
import Foundation
import Torch

let arguments = CommandLine.arguments
let threads = arguments.count > 1 ? Int(arguments[1]) ?? 1 : 1
let iterations = arguments.count > 2 ? Int(arguments[2]) ?? 20 : 20
TorchRuntime.configureThreads(threads)

/// x + attn(LN(x)); x + MLP(LN(x)), MLP = Linear(4D) -> GELU -> Linear(D).
final class Block: Module {
  let norm1: LayerNorm, attention: MultiHeadAttention, norm2: LayerNorm, up: Linear, down: Linear
  init(dim: Int, heads: Int, generator: Generator) throws {
    norm1 = try LayerNorm(dim)
    attention = try MultiHeadAttention(dim: dim, heads: heads, generator: generator)
    norm2 = try LayerNorm(dim)
    up = try Linear(dim, 4 * dim, generator: generator)
    down = try Linear(4 * dim, dim, generator: generator)
  }
  var children: [(name: String, module: any Module)] {
    [("norm1", norm1), ("attn", attention), ("norm2", norm2), ("up", up), ("down", down)]
  }
  // [B, T, D] -> [B, T, D]
  func callAsFunction(_ x: Tensor) throws -> Tensor {
    let h = try x + attention(norm1(x), causal: true)
    return try h + down(up(norm2(h)).gelu())
  }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
  let start = DispatchTime.now().uptimeNanoseconds
  try body()
  return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

let generator = try Generator(seed: 0)
let block = try Block(dim: 128, heads: 4, generator: generator)
let x = try Tensor.randn([64, 80, 128], generator: generator)
let step = {
  block.zeroGrad()
  try block(x).square().mean().backward()
}
for _ in 0..<3 { try step() }  // warm-up
var times: [Double] = []
for _ in 0..<iterations { times.append(try seconds(step)) }
times.sort()
print("block_fwd_bwd_ms \(times[times.count / 2] * 1000)")

// Dispatch overhead: a chain of tiny ops, where the kernel work is negligible.
let a = try Tensor.randn([4], generator: generator)
let b = try Tensor.randn([4], generator: generator)
let ops = 20_000
for _ in 0..<1000 { _ = try a + b }
var dispatch: [Double] = []
for _ in 0..<5 {
  dispatch.append(try seconds { for _ in 0..<ops { _ = try a + b } } / Double(ops))
}
print("dispatch_add_us \(dispatch.min()! * 1e6)")
let c = try a.requiringGrad()
var dispatchGrad: [Double] = []
for _ in 0..<5 {
  dispatchGrad.append(try seconds { for _ in 0..<ops { _ = try c * b } } / Double(ops))
}
print("dispatch_mul_grad_us \(dispatchGrad.min()! * 1e6)")
