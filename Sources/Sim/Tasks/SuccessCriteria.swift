#if canImport(Glibc)
import Glibc
#endif

/// Success tests and the shaped reward, per task family. Positions are object centres in metres
/// (table top at z = 0); "released" means the jaw does not hold the target.
extension EnvInstance {
  /// Where the target object should end up (its centre), for progress and for the experts.
  func goalPosition() -> SIMD3<Double> {
    let rest = SceneBuilder.restHeight(task.targetShape)
    switch task.family {
    case .pick:
      let p = slotPosition(0)
      return SIMD3(p.x, p.y, 0.09)
    case .place:
      let f = fixturePosition!
      return SIMD3(f.x, f.y, 2 * SceneBuilder.plateHalfHeight + rest)
    case .push:
      let f = fixturePosition!
      return SIMD3(f.x, f.y, rest)
    case .bowl:
      let f = fixturePosition!
      return SIMD3(f.x, f.y, 0.006 + rest)
    case .stack:
      let r = slotPosition(1)
      return SIMD3(r.x, r.y, r.z + SceneBuilder.cubeHalf + rest)
    case .arrange:
      let r = slotPosition(1)
      return SIMD3(r.x + (task.left ? -0.1 : 0.1), r.y, rest)
    }
  }

  func goalDistance() -> Double { simdLength(slotPosition(0) - goalPosition()) }

  func isSuccess() -> Bool {
    let p = slotPosition(0)
    let goal = goalPosition()
    let horizontal = simdLength(SIMD2(p.x - goal.x, p.y - goal.y))
    let rest = SceneBuilder.restHeight(task.targetShape)
    let released = !isGrasped()
    switch task.family {
    case .pick:
      return p.z > 0.06 + rest && isGrasped()
    case .place:
      return horizontal < 0.045 && Swift.abs(p.z - goal.z) < 0.01 && released
    case .push:
      return horizontal < 0.03 && p.z < rest + 0.01
    case .bowl:
      return horizontal < SceneBuilder.bowlRadius - 0.025 && p.z < 0.045 && released
    case .stack:
      return horizontal < 0.015 && Swift.abs(p.z - goal.z) < 0.006 && released
    case .arrange:
      let r = slotPosition(1)
      let side = task.left ? r.x - p.x : p.x - r.x
      return side > 0.06 && Swift.abs(p.y - r.y) < 0.05 && p.z < rest + 0.01 && released
    }
  }

  /// Potential of the shaped reward (RLinf's ManiSkill terms): 0.1 for a grasp, 0.1 more for a
  /// grasp held on consecutive steps, up to 0.3 for progress towards the goal, 1 for success.
  /// With `reach`, up to 0.1 more for the palm's closeness to the target's grasp point
  /// (1 - tanh(10 d), d in metres, as ManiSkill's dense rewards shape reaching) and up to 0.05
  /// for a cube's jaw alignment as the palm gets close; a held target counts as reached and
  /// aligned. The reward is the potential's difference between steps (potential-based shaping,
  /// Ng et al. 1999: the best policy stays the same).
  func shapedPotential(grasped: Bool, reach: Bool = false) -> Double {
    let progress = max(0, min(1, 1 - goalDistance() / initialGoalDistance))
    var potential = (grasped ? 0.1 : 0) + (graspStreak >= 2 ? 0.1 : 0) + 0.3 * progress + (isSuccess() ? 1 : 0)
    if reach {
      let closeness = grasped ? 1 : 1 - tanh(10 * simdLength(gripperPosition - graspPoint()))
      potential += 0.1 * closeness + 0.05 * (grasped ? 1 : closeness * jawAlignment())
    }
    return potential
  }

  /// Where the palm holds the target: above its centre by the expert's grasp offset.
  func graspPoint() -> SIMD3<Double> { slotPosition(0) + SIMD3(0, 0, ScriptedExpert.graspOffset) }

  /// 1 when the jaw closes across a cube's faces, 0 at 45 degrees off (the jaw is symmetric every
  /// 90 degrees); 1 for round objects, which any yaw grasps.
  func jawAlignment() -> Double {
    guard task.targetShape == .cube else { return 1 }
    return 0.5 * (1 + cos(4 * (handEuler.z - slotYaw(0))))
  }
}
