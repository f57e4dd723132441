// rlinf-demo: the smoke demo behind `make run` until the training daemon lands. It trains a
// two-layer network with the Torch module (AdamW, gradient clipping) to regress a smooth 2-D
// function and prints the loss as it falls.
import Foundation
import Torch

let steps = Int(ProcessInfo.processInfo.environment["RLINF_DEMO_STEPS"] ?? "") ?? 400
TorchRuntime.configureThreads(2)
TorchRuntime.manualSeed(0)
let generator = try Generator(seed: 0)

// Data: y = sin(3 x0) * cos(2 x1) + 0.5 x0 x1 on [-1, 1]^2.
let x = try Tensor.rand([2048, 2], generator: generator) * 2 - 1  // [N, 2]
let x0 = try x.select(dim: 1, index: 0)
let x1 = try x.select(dim: 1, index: 1)
let y = try ((x0 * 3).sin() * (x1 * 2).cos() + x0 * x1 * 0.5).unsqueeze(1)  // [N, 1]

final class TwoLayerNet: Module {
  let hidden: Linear
  let output: Linear
  init(generator: Generator) throws {
    hidden = try Linear(2, 64, generator: generator)
    output = try Linear(64, 1, generator: generator)
  }
  var children: [(name: String, module: any Module)] { [("hidden", hidden), ("output", output)] }
  func callAsFunction(_ x: Tensor) throws -> Tensor { try output(hidden(x).gelu()) }  // [N, 2] -> [N, 1]
}

let net = try TwoLayerNet(generator: generator)
let optimizer = try AdamW(module: net, lr: 1e-2, weightDecay: 0)
print("rlinf-demo: libtorch \(TorchRuntime.version), \(TorchRuntime.threads) threads, \(net.parameterCount) parameters, \(steps) steps")
let start = Date()
var firstLoss = 0.0
var loss = 0.0
for step in 1...steps {
  let prediction = try net(x)
  let lossTensor = try (prediction - y).square().mean()
  optimizer.zeroGrad()
  try lossTensor.backward()
  try clipGradientNorm(net.parameters, maxNorm: 1.0)
  try optimizer.step()
  loss = try lossTensor.item()
  if step == 1 { firstLoss = loss }
  if step == 1 || step % 50 == 0 || step == steps {
    print(String(format: "step %4d  loss %.5f  (%.1f steps/s)", step, loss, Double(step) / Date().timeIntervalSince(start)))
  }
}
print(String(format: "loss fell from %.4f to %.4f (%.0fx lower)", firstLoss, loss, firstLoss / max(loss, 1e-12)))
if !(loss < firstLoss / 10) {
  print("rlinf-demo: the loss did not fall tenfold; something is wrong")
  exit(1)
}
