import Foundation

/// AdamW (Loshchilov & Hutter), the update of torch.optim.AdamW:
///   p  <- p * (1 - lr * wd)
///   m  <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
///   p  <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
/// Parameter groups carry their own learning rate and weight decay (e.g. policy vs value head).
public final class AdamW {
  /// Parameters sharing hyper-parameters. `lr` may be changed between steps.
  public final class ParamGroup {
    public let name: String
    public let parameters: [(name: String, tensor: Tensor)]
    public var lr: Double
    public var weightDecay: Double

    public init(name: String, parameters: [(name: String, tensor: Tensor)], lr: Double, weightDecay: Double = 0.01) {
      self.name = name
      self.parameters = parameters
      self.lr = lr
      self.weightDecay = weightDecay
    }
  }

  /// Moment estimates of one parameter, created at its first update.
  struct Moments {
    var step: Int
    let expAvg: Tensor
    let expAvgSq: Tensor
  }

  public let groups: [ParamGroup]
  public var betas: (Double, Double)
  public var eps: Double
  var moments: [String: Moments] = [:]

  public init(groups: [ParamGroup], betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8) throws {
    var seen = Set<String>()
    for group in groups {
      for (name, _) in group.parameters where !seen.insert(name).inserted {
        throw TorchError("AdamW: parameter \(name) appears in more than one group")
      }
    }
    self.groups = groups
    self.betas = betas
    self.eps = eps
  }

  /// One group holding every parameter of `module`.
  public convenience init(module: any Module, lr: Double, weightDecay: Double = 0.01) throws {
    try self.init(groups: [ParamGroup(name: "default", parameters: module.namedParameters(), lr: lr, weightDecay: weightDecay)])
  }

  /// Applies one update from the stored gradients; parameters without a gradient are skipped.
  public func step() throws {
    try Autograd.withNoGrad {
      for group in groups {
        for (name, parameter) in group.parameters {
          guard let grad = parameter.grad else { continue }
          try update(name: name, parameter: parameter, grad: grad, group: group)
        }
      }
    }
  }

  private func update(name: String, parameter p: Tensor, grad g: Tensor, group: ParamGroup) throws {
    var m = try moments[name] ?? Moments(step: 0, expAvg: p.zerosLike(), expAvgSq: p.zerosLike())
    m.step += 1
    let (beta1, beta2) = betas
    try p.multiplyInPlace(1 - group.lr * group.weightDecay)
    try m.expAvg.multiplyInPlace(beta1)
    try m.expAvg.addInPlace(g, alpha: 1 - beta1)
    try m.expAvgSq.multiplyInPlace(beta2)
    try m.expAvgSq.addProductInPlace(g, g, value: 1 - beta2)
    let biasCorrection1 = 1 - Foundation.pow(beta1, Double(m.step))
    let biasCorrection2 = 1 - Foundation.pow(beta2, Double(m.step))
    let denominator = try m.expAvgSq.sqrt() / biasCorrection2.squareRoot() + eps
    try p.addQuotientInPlace(m.expAvg, denominator, value: -group.lr / biasCorrection1)
    moments[name] = m
  }

  /// Clears the gradients of every parameter.
  public func zeroGrad() {
    for group in groups { for (_, p) in group.parameters { p.zeroGrad() } }
  }

  // MARK: checkpoint state

  /// Optimizer state for a checkpoint: tensors named `exp_avg.<param>` / `exp_avg_sq.<param>`
  /// and the per-parameter step counts.
  public struct State {
    public var tensors: [String: Tensor]
    public var steps: [String: Int]
    public init(tensors: [String: Tensor], steps: [String: Int]) {
      self.tensors = tensors
      self.steps = steps
    }
  }

  public func exportState() throws -> State {
    var tensors: [String: Tensor] = [:]
    var steps: [String: Int] = [:]
    for (name, m) in moments {
      tensors["exp_avg.\(name)"] = try m.expAvg.clone()
      tensors["exp_avg_sq.\(name)"] = try m.expAvgSq.clone()
      steps[name] = m.step
    }
    return State(tensors: tensors, steps: steps)
  }

  /// Restores a state from `exportState()`; every entry must belong to a known parameter of the
  /// same shape.
  public func importState(_ state: State) throws {
    let parameters = Dictionary(uniqueKeysWithValues: groups.flatMap(\.parameters).map { ($0.name, $0.tensor) })
    var restored: [String: Moments] = [:]
    for (name, step) in state.steps {
      guard let parameter = parameters[name] else { throw TorchError("optimizer state names unknown parameter \(name)") }
      guard let avg = state.tensors["exp_avg.\(name)"], let avgSq = state.tensors["exp_avg_sq.\(name)"] else {
        throw TorchError("optimizer state for \(name) lacks exp_avg or exp_avg_sq")
      }
      guard avg.shape == parameter.shape, avgSq.shape == parameter.shape else {
        throw TorchError("optimizer state for \(name) has shape \(avg.shape), parameter \(parameter.shape)")
      }
      let like = (dtype: parameter.dtype, device: parameter.device)
      restored[name] = Moments(
        step: step, expAvg: try avg.to(dtype: like.dtype, device: like.device).clone(),
        expAvgSq: try avgSq.to(dtype: like.dtype, device: like.device).clone())
    }
    moments = restored
  }
}
