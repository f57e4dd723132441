/// Low-rank adaptation (Hu et al. 2021): a frozen weight W plus a trainable update
/// (alpha / r) B A, A [r, in] initialised like a Linear layer, B [out, r] at zero so training
/// starts from the base model. Parameter names follow the module: `q_proj.lora_A.weight`,
/// `q_proj.lora_B.weight`.
public struct LoRAAdapter {
  public let a: Tensor  // [r, in]
  public let b: Tensor  // [out, r]
  public let scale: Double
}

public enum LoRA {
  /// Adds adapters of rank `rank` to every Linear in `module` whose own name is in `targets`
  /// (nil: every Linear), freezes all other parameters of the tree, and returns the adapters'
  /// parameters (the trainable ones) by name.
  @discardableResult
  public static func apply(
    to module: any Module, rank: Int, alpha: Double, targets: Set<String>? = nil, generator: Generator? = nil
  ) throws -> [(name: String, tensor: Tensor)] {
    guard rank >= 1 else { throw TorchError("LoRA rank must be at least 1 (got \(rank))") }
    var adapted = 0
    try visit(module) { name, linear in
      guard targets?.contains(name) ?? true, linear.lora == nil else { return }
      let a = try Tensor.zeros([rank, linear.inFeatures])
      try a.uniformInPlace(-1 / Double(linear.inFeatures).squareRoot(), 1 / Double(linear.inFeatures).squareRoot(), generator: generator)
      let adapter = LoRAAdapter(
        a: try a.requiringGrad(), b: try Tensor.zeros([linear.outFeatures, rank]).requiringGrad(), scale: alpha / Double(rank))
      // Initialised on the CPU (the same numbers on any device), then beside the weight.
      try adapter.a.moveInPlace(to: linear.weight.device)
      try adapter.b.moveInPlace(to: linear.weight.device)
      linear.lora = adapter
      adapted += 1
    }
    guard adapted > 0 else { throw TorchError("LoRA: no Linear layer named \(targets.map { $0.sorted().joined(separator: ", ") } ?? "")") }
    let trainable = module.namedParameters().filter { $0.name.contains(".lora_A.") || $0.name.contains(".lora_B.") }
    for (name, tensor) in module.namedParameters() where !(name.contains(".lora_A.") || name.contains(".lora_B.")) {
      try tensor.requiringGrad(false)
    }
    return trainable
  }

  /// Folds every adapter into its weight (W += scale B A) and removes it: the merged model
  /// computes the same function at plain Linear cost (what rollout inference runs).
  public static func merge(_ module: any Module) throws {
    try visit(module) { _, linear in
      guard let lora = linear.lora else { return }
      try Autograd.withNoGrad { try linear.weight.addInPlace(lora.b.matmul(lora.a), alpha: lora.scale) }
      linear.lora = nil
    }
  }

  /// The tree's parameters as the merged model has them (W + scale B A for adapted Linears, the
  /// adapters themselves left out), computed without touching the module: what a rollout copy
  /// of a LoRA-trained policy loads.
  public static func mergedState(of module: any Module) throws -> [String: Tensor] {
    var state: [String: Tensor] = [:]
    for (name, tensor) in module.namedParameters() where !(name.contains(".lora_A.") || name.contains(".lora_B.")) {
      state[name] = try tensor.detached()
    }
    try Autograd.withNoGrad {
      try visitNamed(module, prefix: "") { name, linear in
        guard let lora = linear.lora else { return }
        state[name + "weight"] = try linear.weight + (lora.b.matmul(lora.a) * lora.scale)
      }
    }
    return state
  }

  /// Calls `body` with every Linear of the tree and its full name prefix ("a.b.q_proj.").
  static func visitNamed(_ module: any Module, prefix: String, _ body: (String, Linear) throws -> Void) throws {
    for (name, child) in module.children {
      if let linear = child as? Linear { try body(prefix + name + ".", linear) }
      try visitNamed(child, prefix: prefix + name + ".", body)
    }
  }

  /// Calls `body` with every Linear of the tree and its own (last) name.
  static func visit(_ module: any Module, _ body: (String, Linear) throws -> Void) throws {
    for (name, child) in module.children {
      if let linear = child as? Linear { try body(name.split(separator: ".").last.map(String.init) ?? name, linear) }
      try visit(child, body)
    }
  }
}
