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

/// One or two ViTs; with two, their patch features are concatenated channel-wise. With a
/// `pool` factor above 1, each pool x pool block of the patch grid is averaged into one token.
/// With FiLM (`languageDim` > 0), the first encoder's blocks are modulated by the instruction.
final class VisionBackbone: Module {
  let featurizer: VisionTransformer
  let fusedFeaturizer: VisionTransformer?
  let pool: Int
  let film: FiLM?

  init(_ configs: [ViTConfig], pool: Int = 1, languageDim: Int = 0, generator: Generator?) throws {
    featurizer = try VisionTransformer(configs[0], generator: generator)
    fusedFeaturizer = configs.count > 1 ? try VisionTransformer(configs[1], generator: generator) : nil
    self.pool = pool
    film = languageDim > 0 ? try FiLM(languageDim: languageDim, visionDim: configs[0].embedDim, blocks: configs[0].depth - 1, generator: generator) : nil
  }

  var children: [(name: String, module: any Module)] {
    [("featurizer", featurizer)] + (fusedFeaturizer.map { [("fused_featurizer", $0)] } ?? []) + (film.map { [("film", $0)] } ?? [])
  }

  /// uint8 images [B, H, W, 3] -> patch features [B, P, visionDim]; `language` [B, languageDim]
  /// (the mean embedding of each row's prompt) drives FiLM when the backbone has it.
  func callAsFunction(_ images: Tensor, language: Tensor? = nil) throws -> Tensor {
    let modulation = try film.map { film -> [(scale: Tensor, shift: Tensor)] in
      guard let language else { throw ModelError.input("this policy's vision encoder is conditioned on the instruction (FiLM): pass its embedding") }
      return try film(language)
    }
    var features = try featurizer.patchFeatures(featurizer.normalize(images), film: modulation)
    if let fusedFeaturizer {
      features = try Tensor.cat([features, fusedFeaturizer.patchFeatures(fusedFeaturizer.normalize(images))], dim: -1)
    }
    return try Self.poolGrid(features, factor: pool)
  }

  /// [B, g * g, D] (row-major patch grid) -> [B, (g / f)^2, D], each f x f block averaged.
  static func poolGrid(_ x: Tensor, factor f: Int) throws -> Tensor {
    guard f > 1 else { return x }
    let (b, p, d) = (x.size(0), x.size(1), x.size(2))
    let g = Int(Double(p).squareRoot().rounded())
    return try x.reshape([b, g / f, f, g / f, f, d]).mean(dims: [2, 4]).reshape([b, (g / f) * (g / f), d])
  }
}

/// FiLM (Perez et al. 2018) as OpenVLA-OFT+ uses it to make the policy follow its instruction:
/// per vision block, a linear map of the instruction's mean token embedding to a per-channel
/// scale and shift of that block's output. Zero-initialised, so a fresh FiLM changes nothing
/// until training moves it. Names: `film.<block>.weight`, `film.<block>.bias`.
final class FiLM: Module {
  let maps: ModuleList<Linear>
  let visionDim: Int

  init(languageDim: Int, visionDim: Int, blocks: Int, generator: Generator?) throws {
    maps = ModuleList(try (0..<blocks).map { _ in
      let map = try Linear(languageDim, 2 * visionDim, generator: generator)
      try Autograd.withNoGrad {
        try map.weight.fillInPlace(0)
        try map.bias!.fillInPlace(0)
      }
      return map
    })
    self.visionDim = visionDim
  }

  var children: [(name: String, module: any Module)] { maps.children }

  // [B, languageDim] -> per block (scale, shift), each [B, 1, visionDim]
  func callAsFunction(_ language: Tensor) throws -> [(scale: Tensor, shift: Tensor)] {
    try maps.modules.map { map in
      let both = try map(language).unsqueeze(1)  // [B, 1, 2 D]
      return (try both.slice(dim: 2, start: 0, end: visionDim), try both.slice(dim: 2, start: visionDim))
    }
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
