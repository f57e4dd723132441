import Foundation
import TestSupport
import Testing
import Torch

/// One computation done in Swift and, independently, by PyTorch.
struct ReferenceCase {
  let name: String
  let inputs: [Tensor]
  /// Which inputs gradients are checked for.
  let grad: [Bool]
  /// PyTorch expression over `x` (see Reference/torch_reference.py).
  let python: String
  /// The Swift computation: from the inputs (those with grad marked requiring it) to the output
  /// and the tensors whose gradients correspond to each input (the inputs themselves for plain
  /// ops; a block's parameters for blocks).
  let swift: ([Tensor]) throws -> (output: Tensor, gradSources: [Tensor])
  var tolerance: Double = 1e-5

  /// A case whose gradients are taken with respect to its inputs.
  static func op(
    _ name: String, _ inputs: [Tensor], grad: [Bool]? = nil, python: String, tolerance: Double = 1e-5,
    _ body: @escaping ([Tensor]) throws -> Tensor
  ) -> ReferenceCase {
    let grad = grad ?? inputs.map { $0.dtype.isFloatingPoint }
    return ReferenceCase(
      name: name, inputs: inputs, grad: grad, python: python,
      swift: { x in (try body(x), x) }, tolerance: tolerance)
  }
}

/// What Swift and PyTorch produced for a case.
struct ReferenceResult {
  let name: String
  let swiftOutput: Tensor
  let torchOutput: Tensor
  /// (input index, Swift gradient, PyTorch gradient)
  let grads: [(index: Int, swift: Tensor, torch: Tensor)]
  let tolerance: Double
}

/// Runs every case in Swift, then all of them in one PyTorch process, and pairs the results.
func runReference(_ cases: [ReferenceCase], seed: UInt64 = 1) throws -> [ReferenceResult] {
  let workdir = try temporaryDirectory("reference")
  defer { try? FileManager.default.removeItem(atPath: workdir) }
  let generator = try Generator(seed: seed)
  var files: [String: Tensor] = [:]
  var manifest: [[String: Any]] = []
  var swiftResults: [(output: Tensor, sources: [Tensor], grad: [Bool])] = []
  for c in cases {
    let names = c.inputs.indices.map { "in.\(c.name).\($0)" }
    for (name, input) in zip(names, c.inputs) { files[name] = input }
    let x = try zip(c.inputs, c.grad).map { input, grad in
      grad ? try input.clone().requiringGrad() : input
    }
    let (output, sources) = try c.swift(x)
    // Integer and bool outputs (comparisons, indices) have no gradient.
    let grad = output.dtype.isFloatingPoint ? c.grad : c.grad.map { _ in false }
    if grad.contains(true) {
      let cotangent = try Tensor.randn(output.shape, dtype: output.dtype, generator: generator)
      files["cot.\(c.name)"] = cotangent
      try output.backward(gradient: cotangent)
    }
    swiftResults.append((try output.detached(), sources, grad))
    manifest.append(["name": c.name, "expr": c.python, "inputs": names, "grad": grad])
  }
  try SafeTensorsWriter.write(files, to: workdir + "/inputs.safetensors")
  try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: workdir + "/cases.json"))
  try runPython(repositoryRoot + "/Tests/TorchTests/Reference/torch_reference.py", [workdir])
  let torch = try SafeTensorsFile(path: workdir + "/outputs.safetensors")
  return try zip(cases, swiftResults).map { c, result in
    let grads = try result.grad.indices.filter { result.grad[$0] }.map { i in
      guard let swiftGrad = result.sources[i].grad else {
        throw TorchError("case \(c.name): Swift produced no gradient for input \(i)")
      }
      return (index: i, swift: swiftGrad, torch: try torch.tensor("grad.\(c.name).\(i)").clone())
    }
    return ReferenceResult(
      name: c.name, swiftOutput: result.output, torchOutput: try torch.tensor("out.\(c.name)").clone(),
      grads: grads, tolerance: c.tolerance)
  }
}

/// Largest |a - b| / (1 + |b|) over all elements (shapes must match), as float64.
func maxRelativeError(_ a: Tensor, _ b: Tensor) throws -> Double {
  guard a.shape == b.shape else { return .infinity }
  if a.elementCount == 0 { return 0 }
  let x = try a.to(dtype: .float64)
  let y = try b.to(dtype: .float64)
  return try ((x - y).abs() / (y.abs() + 1)).max().item()
}

/// Expects every output and gradient of `results` to match PyTorch within its tolerance.
func expectMatches(_ results: [ReferenceResult]) throws {
  for result in results {
    #expect(result.swiftOutput.shape == result.torchOutput.shape, "\(result.name): output shape")
    let outputError = try maxRelativeError(result.swiftOutput, result.torchOutput)
    #expect(outputError <= result.tolerance, "\(result.name): output differs by \(outputError)")
    for (index, swiftGrad, torchGrad) in result.grads {
      let gradError = try maxRelativeError(swiftGrad, torchGrad)
      #expect(gradError <= result.tolerance, "\(result.name): gradient of input \(index) differs by \(gradError)")
    }
  }
}
