import Testing

@testable import Sim

@Suite struct PhysicsTests {
  /// Objects dropped into place at reset settle on the table and stay there.
  @Test func objectsRestOnTheTable() throws {
    let env = try makeEnv(["stack-red-cube-blue-cube", "pick-blue-cylinder", "pick-yellow-sphere"], autoReset: false)
    let start = env.instances.map { instance in instance.taskModel.layout.movables.indices.map { instance.slotPosition($0) } }
    for _ in 0..<25 { try env.step([Float](repeating: 0, count: env.numEnvs * 7)) }
    for (i, instance) in env.instances.enumerated() {
      for (slot, movable) in instance.taskModel.layout.movables.enumerated() {
        if case .distractor(let d) = movable.role, d >= instance.variation.activeDistractors { continue }
        let p = instance.slotPosition(slot)
        #expect(Swift.abs(p.z - SceneBuilder.restHeight(movable.shape)) < 0.003, "\(movable.body) of env \(i) at z \(p.z)")
        #expect(simdLength(SIMD2(p.x - start[i][slot].x, p.y - start[i][slot].y)) < 0.003, "\(movable.body) drifted")
      }
    }
  }

  /// A grasped object goes up with the gripper; a pushed one slides.
  @Test func graspLiftsAndPushMoves() throws {
    let env = try makeEnv(["pick-red-cube", "push-red-cube-green-marker"], autoReset: false)
    let expert = ScriptedExpert(env: env)
    let pushStart = env.instances[1].slotPosition(0)
    var lifted = false
    for _ in 0..<60 where !lifted {
      try env.step(expert.actions())
      lifted = env.instances[0].slotPosition(0).z > 0.08 && env.instances[0].isGrasped()
    }
    #expect(lifted)
    for _ in 0..<40 { try env.step(expert.actions()) }
    let pushed = env.instances[1].slotPosition(0)
    #expect(simdLength(SIMD2(pushed.x - pushStart.x, pushed.y - pushStart.y)) > 0.02)
    #expect(pushed.z < 0.03, "pushed, not lifted")
  }

  /// A physics blow-up resets that environment, ends its episode as truncated and is counted.
  @Test func divergenceResetsTheEnvironment() throws {
    let env = try makeEnv(["pick-red-cube", "pick-green-cube"])
    env.instances[1].data.pointee.qvel[0] = .nan
    try env.step([Float](repeating: 0, count: 14))
    #expect(env.divergenceCount == 1)
    #expect(env.truncated[1] && !env.truncated[0])
    #expect(env.episodeStep(1) == 0)
    try env.step([Float](repeating: 0, count: 14))
    #expect(env.divergenceCount == 1)
    #expect(env.state.allSatisfy { $0.isFinite })
  }
}
