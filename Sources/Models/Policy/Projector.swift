import Torch

/// OpenVLA's projector from vision features to the language model width: "gelu-mlp"
/// (fc1, GELU, fc2) for one encoder, "fused-gelu-mlp" (fc1 to 4x, GELU, fc2, GELU, fc3) for two.
final class Projector: Module {
  let fc1: Linear, fc2: Linear, fc3: Linear?

  init(visionDim: Int, llmDim: Int, fused: Bool, generator: Generator?) throws {
    if fused {
      fc1 = try Linear(visionDim, 4 * visionDim, generator: generator)
      fc2 = try Linear(4 * visionDim, llmDim, generator: generator)
      fc3 = try Linear(llmDim, llmDim, generator: generator)
    } else {
      fc1 = try Linear(visionDim, llmDim, generator: generator)
      fc2 = try Linear(llmDim, llmDim, generator: generator)
      fc3 = nil
    }
  }

  var children: [(name: String, module: any Module)] {
    [("fc1", fc1), ("fc2", fc2)] + (fc3.map { [("fc3", $0)] } ?? [])
  }

  // [B, P, visionDim] -> [B, P, llmDim]
  func callAsFunction(_ x: Tensor) throws -> Tensor {
    let h = try fc2(fc1(x).gelu())
    guard let fc3 else { return h }
    return try fc3(h.gelu())
  }
}

/// One or two ViTs; with two, their patch features are concatenated channel-wise.
final class VisionBackbone: Module {
  let featurizer: VisionTransformer
  let fusedFeaturizer: VisionTransformer?

  init(_ configs: [ViTConfig], generator: Generator?) throws {
    featurizer = try VisionTransformer(configs[0], generator: generator)
    fusedFeaturizer = configs.count > 1 ? try VisionTransformer(configs[1], generator: generator) : nil
  }

  var children: [(name: String, module: any Module)] {
    [("featurizer", featurizer)] + (fusedFeaturizer.map { [("fused_featurizer", $0)] } ?? [])
  }

  /// uint8 images [B, H, W, 3] -> patch features [B, P, visionDim].
  func callAsFunction(_ images: Tensor) throws -> Tensor {
    let first = try featurizer.patchFeatures(featurizer.normalize(images))
    guard let fusedFeaturizer else { return first }
    return try Tensor.cat([first, fusedFeaturizer.patchFeatures(fusedFeaturizer.normalize(images))], dim: -1)
  }
}

/// The critic: MLP hidden -> 512 -> 128 -> outputs with GELU (RLinf's value head), on the final
/// hidden state of the last prompt token.
public final class ValueHead: Module {
  let fc1: Linear, fc2: Linear, fc3: Linear

  public init(hidden: Int, outputs: Int, generator: Generator? = nil) throws {
    fc1 = try Linear(hidden, 512, generator: generator)
    fc2 = try Linear(512, 128, generator: generator)
    fc3 = try Linear(128, outputs, generator: generator)
    // A fresh critic starts near zero so its first estimates do not swamp the advantages.
    try Autograd.withNoGrad {
      try fc3.weight.multiplyInPlace(0.01)
      try fc3.bias!.fillInPlace(0)
    }
  }

  public var children: [(name: String, module: any Module)] { [("fc1", fc1), ("fc2", fc2), ("fc3", fc3)] }

  // [B, hidden] -> [B, outputs]
  func callAsFunction(_ h: Tensor) throws -> Tensor { try fc3(fc2(fc1(h).gelu()).gelu()) }
}

/// OpenVLA-OFT's proprio projector: the robot state as one token of the language model's width
/// (fc1, GELU, fc2), placed after the image patches.
final class ProprioProjector: Module {
  let fc1: Linear, fc2: Linear

  init(inputs: Int, llmDim: Int, generator: Generator?) throws {
    fc1 = try Linear(inputs, llmDim, generator: generator)
    fc2 = try Linear(llmDim, llmDim, generator: generator)
  }

  var children: [(name: String, module: any Module)] { [("fc1", fc1), ("fc2", fc2)] }

  // [B, inputs] -> [B, llmDim]
  func callAsFunction(_ state: Tensor) throws -> Tensor { try fc2(fc1(state).gelu()) }
}
