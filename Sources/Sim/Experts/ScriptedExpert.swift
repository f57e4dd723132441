/// Scripted experts: one state machine per task family, driven by privileged simulator state
/// (object and goal poses). They produce the demonstrations for supervised fine-tuning.
///
/// Pick-and-place families: approach above the object, descend, close, lift, carry above the goal,
/// lower, open, retreat. Push: go behind the object (relative to the goal), lower the closed jaw
/// and push it along, re-approaching when it drifts sideways.
public final class ScriptedExpert {
  enum Phase { case approach, descend, grasp, lift, carry, lower, release, retreat, pushApproach, pushLower, push }

  struct Memory {
    var phase: Phase
    var timer = 0
    var seed: UInt64
  }

  let env: TabletopEnv
  private var memory: [Memory]

  /// Palm height above an object's centre at which the fingers straddle it.
  static let graspOffset = 0.033
  static let carryHeight = 0.16

  public init(env: TabletopEnv) {
    self.env = env
    memory = env.instances.map { Memory(phase: .approach, seed: $0.seed) }
  }

  /// Actions [N, 7] for the current state of every environment.
  public func actions() -> [Float] {
    var out = [Float](repeating: 0, count: env.numEnvs * TabletopEnv.actionSize)
    for (i, instance) in env.instances.enumerated() {
      if memory[i].seed != instance.seed || instance.step == 0 {
        memory[i] = Memory(phase: instance.task.family == .push ? .pushApproach : .approach, seed: instance.seed)
      }
      let a = action(instance, &memory[i])
      for d in 0..<7 { out[i * 7 + d] = a[d] }
    }
    return out
  }

  /// The action of the phase the state is in. A phase that finds itself complete hands over and
  /// the next phase acts in the same step: an expert that spent a step commanding "stay" on the
  /// way would label two indistinguishable observations (before and after that step) with
  /// different actions, and a cloned policy that picks the likelier "stay" never moves on.
  private func action(_ e: EnvInstance, _ mem: inout Memory) -> [Float] {
    var action: [Float] = []
    for _ in 0..<4 {  // a step completes at most a few phases (hand-overs never cycle back quickly)
      let phase = mem.phase
      action = e.task.family == .push ? pushAction(e, &mem) : pickPlaceAction(e, &mem)
      if mem.phase == phase { break }
    }
    return action
  }

  private func pickPlaceAction(_ e: EnvInstance, _ mem: inout Memory) -> [Float] {
    let object = e.slotPosition(0)
    let goal = e.goalPosition()
    var target = e.handPosition
    var yaw = e.handEuler.z
    var close = false
    switch mem.phase {
    case .approach:
      target = SIMD3(object.x, object.y, max(object.z + 0.09, 0.12))
      yaw = graspYaw(e)
      if reached(e, target, 0.006) && Swift.abs(angle(yaw - e.handEuler.z)) < 0.05 { mem.phase = .descend }
    case .descend:
      target = SIMD3(object.x, object.y, object.z + Self.graspOffset)
      yaw = graspYaw(e)
      if reached(e, target, 0.004) { mem.phase = .grasp; mem.timer = 0 }
    case .grasp:
      target = SIMD3(object.x, object.y, object.z + Self.graspOffset)
      close = true
      mem.timer += 1
      // Lift once the jaw holds it (the observation shows the closed jaw), not after a fixed
      // wait: waiting steps would look the same as the step that lifts.
      if (mem.timer >= 2 && e.isGrasped()) || mem.timer >= 6 { mem.phase = .lift }
    case .lift:
      target = SIMD3(e.handPosition.x, e.handPosition.y, Self.carryHeight)
      close = true
      if reached(e, target, 0.01) {
        // Dropped it: start over.
        mem.phase = e.isGrasped() ? (e.task.family == .pick ? .lift : .carry) : .approach
      }
    case .carry:
      // Carry so that the object (not the palm) ends above the goal.
      let offset = SIMD2(e.gripperPosition.x - object.x, e.gripperPosition.y - object.y)
      target = SIMD3(goal.x + offset.x, goal.y + offset.y, Self.carryHeight)
      close = true
      if !e.isGrasped() { mem.phase = .approach }
      if reached(e, target, 0.005) { mem.phase = .lower }
    case .lower:
      let offset = SIMD2(e.gripperPosition.x - object.x, e.gripperPosition.y - object.y)
      target = SIMD3(goal.x + offset.x, goal.y + offset.y, goal.z + Self.graspOffset + 0.008)
      close = true
      if reached(e, target, 0.005) { mem.phase = .release; mem.timer = 0 }
    case .release:
      mem.timer += 1
      if (mem.timer >= 2 && e.jawClosure < 0.1) || mem.timer >= 5 { mem.phase = .retreat }
    case .retreat:
      target = SIMD3(e.handPosition.x, e.handPosition.y, Self.carryHeight)
    case .pushApproach, .pushLower, .push:
      break
    }
    return command(e, target: target, yaw: yaw, close: close)
  }

  private func pushAction(_ e: EnvInstance, _ mem: inout Memory) -> [Float] {
    let object = e.slotPosition(0)
    let goal = e.goalPosition()
    var toGoal = SIMD2(goal.x - object.x, goal.y - object.y)
    let distance = simdLength(toGoal)
    if distance > 1e-6 { toGoal /= distance }
    // The closed jaw pushes alike with either face: of the two yaws that face the goal (half a
    // turn apart), the one nearer the hand's, so the hand turns at most a quarter turn.
    let facing = atan2(toGoal.y, toGoal.x)
    let pushYaw = e.handEuler.z + angle(2 * (facing - e.handEuler.z)) / 2
    let behind = SIMD2(object.x, object.y) - toGoal * 0.065
    let pushHeight = 0.055
    var target = e.handPosition
    switch mem.phase {
    case .pushApproach:
      target = SIMD3(behind.x, behind.y, 0.12)
      if reached(e, target, 0.008) && Swift.abs(angle(pushYaw - e.handEuler.z)) < 0.08 { mem.phase = .pushLower }
    case .pushLower:
      target = SIMD3(behind.x, behind.y, pushHeight)
      if reached(e, target, 0.006) { mem.phase = .push }
    case .push:
      // Keep the palm just behind the object on the object-goal line; drift sideways means the
      // object slipped off the palm: go round again.
      let hand = SIMD2(e.gripperPosition.x, e.gripperPosition.y)
      let rel = SIMD2(object.x, object.y) - hand
      let lateral = Swift.abs(rel.x * toGoal.y - rel.y * toGoal.x)
      if lateral > 0.03 || (rel * toGoal).sum() < 0 { mem.phase = .pushApproach }
      let ahead = SIMD2(object.x, object.y) - toGoal * (distance < 0.01 ? 0.045 : 0.02)
      target = SIMD3(ahead.x, ahead.y, pushHeight)
    default:
      break
    }
    return command(e, target: target, yaw: pushYaw, close: true)
  }

  /// Yaw that puts the jaw across a cube's faces (any yaw for round objects).
  private func graspYaw(_ e: EnvInstance) -> Double {
    guard e.task.targetShape == .cube else { return 0 }
    var yaw = e.slotYaw(0).truncatingRemainder(dividingBy: .pi / 2)
    if yaw > .pi / 4 { yaw -= .pi / 2 }
    if yaw < -.pi / 4 { yaw += .pi / 2 }
    return yaw
  }

  private func reached(_ e: EnvInstance, _ target: SIMD3<Double>, _ tolerance: Double) -> Bool {
    simdLength(e.handPosition - target) < tolerance && simdLength(e.gripperPosition - target) < tolerance + 0.01
  }

  /// Proportional control towards the hand target, saturated to the action range.
  private func command(_ e: EnvInstance, target: SIMD3<Double>, yaw: Double, close: Bool) -> [Float] {
    let delta = (target - e.handPosition) / EnvInstance.positionScale
    let turn = angle(yaw - e.handEuler.z) / EnvInstance.rotationScale
    func clip(_ v: Double) -> Float { Float(max(-1, min(1, v))) }
    return [clip(delta.x), clip(delta.y), clip(delta.z), clip(-e.handEuler.x / EnvInstance.rotationScale),
            clip(-e.handEuler.y / EnvInstance.rotationScale), clip(turn), close ? 1 : -1]
  }

  private func angle(_ a: Double) -> Double { atan2(sin(a), cos(a)) }
}

#if canImport(Glibc)
import Glibc
#endif
