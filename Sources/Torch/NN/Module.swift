/// A neural-network block: owns parameters and sub-blocks, each under a local name, so the full
/// names (`layers.3.self_attn.q_proj.weight`) match checkpoint names.
///
/// Parameters are `Tensor`s created with `requiringGrad()`. Loading a checkpoint copies into them
/// in place, so optimizers and other holders keep seeing the same tensors.
public protocol Module: AnyObject {
  /// This block's own parameters by local name (e.g. "weight", "bias").
  var ownParameters: [(name: String, tensor: Tensor)] { get }
  /// Sub-blocks by local name (e.g. "q_proj", or "3" inside a list).
  var children: [(name: String, module: any Module)] { get }
  /// Constant tensors the block computes with that are not trained or saved (PyTorch's
  /// non-persistent buffers); they move with the parameters.
  var ownBuffers: [Tensor] { get }
}

extension Module {
  public var ownParameters: [(name: String, tensor: Tensor)] { [] }
  public var children: [(name: String, module: any Module)] { [] }
  public var ownBuffers: [Tensor] { [] }

  /// Every parameter of the tree, depth-first, with dotted names.
  public func namedParameters(prefix: String = "") -> [(name: String, tensor: Tensor)] {
    var result = ownParameters.map { (name: prefix + $0.name, tensor: $0.tensor) }
    for child in children {
      result += child.module.namedParameters(prefix: prefix + child.name + ".")
    }
    return result
  }

  public var parameters: [Tensor] { namedParameters().map(\.tensor) }

  /// Total number of scalar parameters.
  public var parameterCount: Int { parameters.reduce(0) { $0 + $1.elementCount } }

  /// The device of its parameters (cpu for a block without any).
  public var device: Device { parameters.first?.device ?? .cpu }

  /// Moves every parameter and buffer of the tree to `device`, in place (optimizers and other
  /// holders keep seeing the same tensors). Build on the CPU, then move: initialisation and
  /// checkpoint loading happen on the CPU.
  public func move(to device: Device) throws {
    try TorchRuntime.validate(device)
    for tensor in parameters + buffers { try tensor.moveInPlace(to: device) }
  }

  /// Every buffer of the tree.
  public var buffers: [Tensor] { ownBuffers + children.flatMap { $0.module.buffers } }

  /// Clears the gradients of every parameter.
  public func zeroGrad() { for p in parameters { p.zeroGrad() } }

  /// Detached references to every parameter by name (for saving).
  public func stateDict() throws -> [String: Tensor] {
    var dict: [String: Tensor] = [:]
    for (name, tensor) in namedParameters() { dict[name] = try tensor.detached() }
    return dict
  }

  /// Copies `tensors` into the parameters of the same names (converting dtype/device). With
  /// `strict`, a missing, unexpected or mis-shaped tensor is an error that names it.
  public func loadParameters(_ tensors: [String: Tensor], strict: Bool = true) throws {
    let named = namedParameters()
    let expected = Set(named.map(\.name))
    if strict {
      let missing = named.map(\.name).filter { tensors[$0] == nil }
      if !missing.isEmpty { throw TorchError("missing parameters: \(missing.joined(separator: ", "))") }
      let unexpected = tensors.keys.filter { !expected.contains($0) }.sorted()
      if !unexpected.isEmpty { throw TorchError("unexpected parameters: \(unexpected.joined(separator: ", "))") }
    }
    try Autograd.withNoGrad {
      for (name, parameter) in named {
        guard let source = tensors[name] else { continue }
        guard source.shape == parameter.shape else {
          throw TorchError("parameter \(name): checkpoint shape \(source.shape), model shape \(parameter.shape)")
        }
        try parameter.copyFrom(source)
      }
    }
  }
}

/// An ordered list of blocks named "0", "1", ... (PyTorch's nn.ModuleList naming).
public final class ModuleList<Element: Module>: Module {
  public let modules: [Element]
  public init(_ modules: [Element]) { self.modules = modules }
  public var children: [(name: String, module: any Module)] {
    modules.enumerated().map { (name: String($0.offset), module: $0.element) }
  }
  public subscript(index: Int) -> Element { modules[index] }
  public var count: Int { modules.count }
}

/// A new trainable parameter of `shape`, uniformly initialised in [-bound, bound].
func uniformParameter(_ shape: [Int], bound: Double, generator: Generator?) throws -> Tensor {
  let tensor = try Tensor.zeros(shape)
  try tensor.uniformInPlace(-bound, bound, generator: generator)
  return try tensor.requiringGrad()
}

/// A new trainable parameter filled with `value`.
func constantParameter(_ shape: [Int], value: Double) throws -> Tensor {
  try Tensor.full(shape, value: value).requiringGrad()
}
