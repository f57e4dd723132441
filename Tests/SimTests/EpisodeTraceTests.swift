import Foundation
import Testing

@testable import Sim

/// The episode trace and the failure classification built on it, and the reach terms of the
/// dense reward.
@Suite struct EpisodeTraceTests {
  /// Moves the palm towards `target` (metres) with the jaw command `close`, as the scripted expert
  /// commands it: one action per environment, proportional and saturated.
  static func towards(_ env: EnvInstance, _ target: SIMD3<Double>, close: Bool) -> [Float] {
    let delta = (target - env.handPosition) / EnvInstance.positionScale
    return [Float](unsafeUninitializedCapacity: 7) { b, n in
      for d in 0..<3 { b[d] = Float(max(-1, min(1, delta[d]))) }
      b[3] = 0; b[4] = 0; b[5] = 0
      b[6] = close ? 1 : -1
      n = 7
    }
  }

  /// Grasps movable slot `slot` of a one-environment batch and lifts the palm to `liftTo`;
  /// returns the trace when the episode ended (or after `steps`).
  static func graspAndLift(_ env: TabletopEnv, slot: Int, liftTo: Double = 0.16, steps: Int = 60) throws -> (EpisodeTrace, success: Bool) {
    let e = env.instances[0]
    var phase = 0, timer = 0
    for _ in 0..<steps {
      let object = e.slotPosition(slot)
      let action: [Float]
      switch phase {
      case 0:
        action = towards(e, object + SIMD3(0, 0, 0.09), close: false)
        if simdLength(e.handPosition - (object + SIMD3(0, 0, 0.09))) < 0.006 { phase = 1 }
      case 1:
        action = towards(e, object + SIMD3(0, 0, ScriptedExpert.graspOffset), close: false)
        if simdLength(e.handPosition - (object + SIMD3(0, 0, ScriptedExpert.graspOffset))) < 0.004 { phase = 2 }
      case 2:
        action = towards(e, e.handPosition, close: true)
        timer += 1
        if timer >= 4 { phase = 3 }
      default:
        action = towards(e, SIMD3(e.handPosition.x, e.handPosition.y, liftTo), close: true)
      }
      try env.step(action)
      if env.terminated[0] || env.truncated[0] { break }
    }
    return (env.trace(0), env.successOnce(0))
  }

  @Test func expertPicksAreSuccessesThatHeldTheTarget() throws {
    let env = try makeEnv(["pick-red-cube", "pick-green-cube", "pick-blue-cylinder"], seed: 5, autoReset: false)
    let expert = ScriptedExpert(env: env)
    var traces = [EpisodeTrace?](repeating: nil, count: env.numEnvs)
    while traces.contains(where: { $0 == nil }) {
      try env.step(expert.actions())
      for i in 0..<env.numEnvs where traces[i] == nil && (env.terminated[i] || env.truncated[i]) { traces[i] = env.trace(i) }
    }
    for (i, trace) in traces.enumerated() {
      let t = trace!
      #expect(env.successOnce(i))
      #expect(t.touchedTarget && t.graspedTarget && t.holdingAtEnd && !t.graspedOther && !t.droppedTarget, "\(t)")
      #expect(EpisodeOutcome(success: true, trace: t, wrist: true) == .success)
    }
  }

  /// Lifting the distractor can (slot 1 of a pick scene) is a wrong-object failure.
  @Test func liftingADistractorIsAWrongObject() throws {
    let env = try makeEnv(["pick-red-cube"], seed: 2, autoReset: false)
    #expect(env.instances[0].taskModel.layout.movables[1].shape == .cylinder)
    let (trace, success) = try Self.graspAndLift(env, slot: 1)
    #expect(!success)
    #expect(trace.graspedOther && !trace.graspedTarget, "\(trace)")
    #expect(EpisodeOutcome(success: success, trace: trace, wrist: true) == .wrongObject)
  }

  /// Lifting the target a little (below the pick's success height) and opening the jaw is a drop.
  @Test func openingTheJawAfterALiftIsADrop() throws {
    let env = try makeEnv(["pick-blue-cylinder"], seed: 4, autoReset: false)
    let e = env.instances[0]
    let lifted = ScriptedExpert.graspOffset + SceneBuilder.restHeight(.cylinder) + 0.03
    let (held, success) = try Self.graspAndLift(env, slot: 0, liftTo: lifted, steps: 30)
    #expect(!success && held.graspedTarget && held.holdingAtEnd && !held.droppedTarget, "\(held)")
    for _ in 0..<3 { try env.step(Self.towards(e, e.handPosition, close: false)) }
    let trace = env.trace(0)
    #expect(trace.droppedTarget && !trace.holdingAtEnd, "\(trace)")
    #expect(EpisodeOutcome(success: false, trace: trace, wrist: true) == .dropped)
  }

  /// A gripper that never moves touches nothing: no contact, or target out of view where the
  /// camera did not see it; the classification follows the camera the policy saw.
  @Test func standingStillIsNoContact() throws {
    let env = try makeEnv(["pick-red-cube", "pick-green-cube"], numEnvs: 8, seed: 8, autoReset: false) { $0.wristCamera = true }
    for _ in 0..<10 { try env.step([Float](repeating: 0, count: env.numEnvs * 7)) }
    for i in 0..<env.numEnvs {
      let t = env.trace(i)
      #expect(!t.touchedTarget && !t.graspedTarget && !t.graspedOther)
      #expect(EpisodeOutcome(success: false, trace: t, wrist: true) == (t.targetInWristViewAtStart ? .noContact : .targetOutOfView))
      #expect(EpisodeOutcome(success: false, trace: t, wrist: false) == (t.targetInThirdPersonViewAtStart ? .noContact : .targetOutOfView))
    }
  }

  /// A point is in view when its angles from the optical axis (computed here with atan2) are
  /// within half the field of view, 90 degrees for the wrist camera.
  @Test func visibilityFollowsTheFieldOfView() throws {
    let env = try makeEnv(["pick-red-cube"], seed: 1)
    let e = env.instances[0]
    let view = e.wristView(aspect: 1)
    let eye = SIMD3<Double>(Double(view.eye.x), Double(view.eye.y), Double(view.eye.z))
    var inside = 0, outside = 0
    var rng = SplitMix(seed: 3)
    for _ in 0..<400 {
      let p = SIMD3(rng.uniform(-0.4...0.4), rng.uniform(-0.4...0.4), 0.0)
      let v = p - eye
      // The wrist camera looks straight down while the hand is level; its image axes are the
      // world's x and y up to sign.
      let horizontal = atan2(Swift.abs(v.x), -v.z) * 180 / .pi, vertical = atan2(Swift.abs(v.y), -v.z) * 180 / .pi
      let expected = max(horizontal, vertical) <= 45.0
      guard Swift.abs(max(horizontal, vertical) - 45.0) > 0.5 else { continue }  // too close to the edge to call
      #expect(view.sees(SIMD3<Float>(p)) == expected, "\(p): \(horizontal), \(vertical)")
      if expected { inside += 1 } else { outside += 1 }
    }
    #expect(inside > 20 && outside > 20)
  }

  /// The dense reward's approach terms telescope: before any grasp the summed reward equals the
  /// change of 0.1 * closeness + 0.05 * closeness * alignment (closeness = 1 - tanh(10 d), d the
  /// palm's distance to the grasp point), computed here from positions; the shaped reward
  /// without them gives nothing for the approach.
  @Test func denseRewardPaysForTheApproach() throws {
    func approach(reach: Bool) throws -> (reward: Double, expected: Double) {
      let env = try makeEnv(["pick-red-cube"], seed: 6, autoReset: false) { $0.shapedReward = true; $0.reachReward = reach }
      let e = env.instances[0]
      func potential() -> Double {
        let grasp = e.slotPosition(0) + SIMD3(0, 0, 0.033)
        let closeness = 1 - tanh(10 * simdLength(e.gripperPosition - grasp))
        let alignment = 0.5 * (1 + cos(4 * (e.handEuler.z - e.slotYaw(0))))
        return 0.1 * closeness + 0.05 * closeness * alignment
      }
      let start = potential()
      var total = 0.0
      for _ in 0..<8 {
        try env.step(Self.towards(e, e.slotPosition(0) + SIMD3(0, 0, 0.06), close: false))
        total += Double(env.rewards[0])
      }
      #expect(!e.trace.touchedTarget)
      return (total, potential() - start)
    }
    let dense = try approach(reach: true), shaped = try approach(reach: false)
    #expect(dense.expected > 0.02, "the palm got closer")
    #expect(Swift.abs(dense.reward - dense.expected) < 1e-5)
    #expect(Swift.abs(shaped.reward) < 1e-6)
  }

  @Test func classificationOrder() {
    var t = EpisodeTrace()
    t.targetInWristViewAtStart = false
    #expect(EpisodeOutcome(success: false, trace: t, wrist: true) == .targetOutOfView)
    #expect(EpisodeOutcome(success: false, trace: t, wrist: false) == .noContact)
    t.graspedOther = true
    #expect(EpisodeOutcome(success: false, trace: t, wrist: true) == .wrongObject)
    t.touchedTarget = true
    #expect(EpisodeOutcome(success: false, trace: t, wrist: true) == .wrongObject)
    t.graspedTarget = true  // held the target too: the wrong grasp does not explain the failure
    #expect(EpisodeOutcome(success: false, trace: t, wrist: true) == .unfinished)
    t.droppedTarget = true
    #expect(EpisodeOutcome(success: false, trace: t, wrist: true) == .dropped)
    t.holdingAtEnd = true  // dropped, but picked it up again
    #expect(EpisodeOutcome(success: false, trace: t, wrist: true) == .unfinished)
    var touched = EpisodeTrace()
    touched.touchedTarget = true
    #expect(EpisodeOutcome(success: false, trace: touched, wrist: true) == .missedGrasp)
    #expect(EpisodeOutcome(success: true, trace: touched, wrist: true) == .success)
  }
}
