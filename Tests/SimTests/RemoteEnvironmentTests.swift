import Foundation
import Sim
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A robot as an environment over TCP, with gymnasium's CartPole standing in for the robot:
/// the same episodes as the local worker bridge, a robot that goes away or stalls, and the
/// operator's pause and end-of-episode signals.
@Suite(.serialized) struct RemoteEnvironmentTests {
  static let envs = 3, chunk = 2, limit = 12

  func remoteSpec(_ robot: RobotProcess, heartbeatTimeout: Double = 30) -> RemoteSpec {
    var s = RemoteSpec(address: robot.address, task: "CartPole-v1", numEnvs: Self.envs, imageSize: 32)
    s.maxChunk = Self.chunk
    s.seed = 5
    s.options = ["max_episode_steps": "\(Self.limit)"]
    s.connectTimeout = 10
    s.heartbeatTimeout = heartbeatTimeout
    return s
  }

  func actions(step t: Int) -> [Float] {
    (0..<Self.envs).flatMap { i in
      (0..<Self.chunk).flatMap { k -> [Float] in [((t * 7 + i * 3 + k) % 5) < 2 ? 0.5 : -0.5] + Array(repeating: 0, count: 6) }
    }
  }

  @Test func sameEpisodesAsTheLocalWorkerBridge() throws {
    let robot = try RobotProcess()
    let remote = try RemoteEnvironment(spec: remoteSpec(robot))
    var local = WorkerSpec(
      python: try referencePython(), script: repositoryRoot + "/tools/env_worker.py", backend: "gym", task: "CartPole-v1",
      numEnvs: Self.envs, imageSize: 32)
    local.maxChunk = Self.chunk
    local.seed = 5
    local.options = ["max_episode_steps": "\(Self.limit)"]
    local.environment = ["SDL_VIDEODRIVER": "dummy"]
    let bridge = try WorkerEnvironment(spec: local)
    #expect(remote.stateSize == bridge.stateSize && remote.instructions == bridge.instructions)
    #expect(Array(remote.rgb) == Array(bridge.rgb) && Array(remote.state) == Array(bridge.state))
    #expect(remote.rgb.contains { $0 != 0 })
    var episodes = 0
    for t in 0..<15 {
      let a = actions(step: t)
      let r = try a.withUnsafeBufferPointer { try remote.stepChunk($0, chunk: Self.chunk) }
      let b = try a.withUnsafeBufferPointer { try bridge.stepChunk($0, chunk: Self.chunk) }
      #expect(r.rewards == b.rewards && r.terminated == b.terminated && r.truncated == b.truncated && r.success == b.success, "step \(t)")
      #expect(Array(remote.state) == Array(bridge.state) && Array(remote.rgb) == Array(bridge.rgb), "step \(t)")
      #expect(Array(remote.finalValid) == Array(bridge.finalValid), "step \(t)")
      for i in 0..<Self.envs where remote.finalValid[i] {
        #expect(Array(remote.finalState[(i * 4)..<(i * 4 + 4)]) == Array(bridge.finalState[(i * 4)..<(i * 4 + 4)]), "step \(t), env \(i)")
      }
      let (re, be) = (remote.drainEpisodes(), bridge.drainEpisodes())
      #expect(re == be, "step \(t): episodes")
      episodes += re.count
    }
    #expect(episodes >= Self.envs && remote.failures.isEmpty)
  }

  @Test func aRobotThatGoesAwayIsWaitedForAndReadmitted() throws {
    var robot = try RobotProcess()
    let port = robot.port
    let env = try RemoteEnvironment(spec: remoteSpec(robot, heartbeatTimeout: 2))
    _ = try actions(step: 0).withUnsafeBufferPointer { try env.stepChunk($0, chunk: Self.chunk) }
    // Killed mid-run: the chunk comes back truncated for everyone, the job goes on.
    robot.kill()
    let lost = try actions(step: 1).withUnsafeBufferPointer { try env.stepChunk($0, chunk: Self.chunk) }
    #expect(lost.truncated.allSatisfy { $0 } && !env.connected && env.failures.count == 1)
    // Still away: the next step is truncated too, without waiting forever.
    let away = try actions(step: 2).withUnsafeBufferPointer { try env.stepChunk($0, chunk: Self.chunk) }
    #expect(away.truncated.allSatisfy { $0 } && !env.connected)
    // Back on its port: re-admitted at the next step (handshake, reset to the last states).
    robot = try RobotProcess(port: port)
    let back = try actions(step: 3).withUnsafeBufferPointer { try env.stepChunk($0, chunk: Self.chunk) }
    #expect(env.connected && back.rewards.allSatisfy { $0 == 1 })  // CartPole pays 1 per step taken
    // Stopped (SIGSTOP): silent past the heartbeat timeout, so dropped; continued, re-admitted.
    kill(robot.process.processIdentifier, SIGSTOP)
    let stalled = try actions(step: 4).withUnsafeBufferPointer { try env.stepChunk($0, chunk: Self.chunk) }
    #expect(stalled.truncated.allSatisfy { $0 } && env.failures.last?.contains("sent nothing for 2.0 s") == true)
    kill(robot.process.processIdentifier, SIGCONT)
    _ = try actions(step: 5).withUnsafeBufferPointer { try env.stepChunk($0, chunk: Self.chunk) }
    #expect(env.connected)
  }

  @Test func theOperatorPausesAndEndsEpisodes() throws {
    let folder = try temporaryDirectory("robot-operator")
    let (pause, signals) = (folder + "/pause", folder + "/signals")
    let robot = try RobotProcess(arguments: ["--pause-file", pause, "--operator-file", signals])
    let env = try RemoteEnvironment(spec: remoteSpec(robot, heartbeatTimeout: 2))

    // Paused longer than the heartbeat timeout: heartbeats hold the step; it runs on resume.
    _ = FileManager.default.createFile(atPath: pause, contents: nil)
    let resumer = Thread {
      try? robot.waitForLog("the pause") { $0.contains("paused by the operator") }
      usleep(2_500_000)  // longer than the heartbeat timeout: only heartbeats keep the robot admitted
      try? FileManager.default.removeItem(atPath: pause)
    }
    resumer.start()
    let held = try actions(step: 0).withUnsafeBufferPointer { try env.stepChunk($0, chunk: Self.chunk) }
    #expect(env.connected && env.failures.isEmpty && held.rewards.allSatisfy { $0 == 1 })
    #expect(env.pausedSeconds > 2)
    _ = env.drainEpisodes()

    // Signals end episodes at their next step: success, end (truncated), failure.
    try "1 success\n0 end\n2 failure\n".write(toFile: signals, atomically: true, encoding: .utf8)
    let r = try actions(step: 1).withUnsafeBufferPointer { try env.stepChunk($0, chunk: Self.chunk) }
    let k = Self.chunk
    #expect(r.terminated[1 * k] && r.success[1 * k])
    #expect(r.truncated[0 * k] && !r.terminated[0 * k])
    #expect(r.terminated[2 * k] && !r.success[2 * k])
    let signalled = Dictionary(uniqueKeysWithValues: env.drainEpisodes().map { ($0.env, $0.operatorSignal) })
    #expect(signalled[0] == "end" && signalled[1] == "success" && signalled[2] == "failure")
    #expect(Array(env.finalValid) == [true, true, true])
  }

  /// The gymnasium adapter (`--backend gymnasium`) over a toy arm with camera and state: each
  /// environment's first episode matches the same env run directly in Python.
  @Test func gymnasiumAdapterGivesTheEnvironmentsOwnEpisodes() throws {
    let reference = repositoryRoot + "/Tests/SimTests/Reference"
    let robot = try RobotProcess(backend: "gymnasium", environment: ["PYTHONPATH": reference])
    var spec = RemoteSpec(address: robot.address, task: "reach", numEnvs: 2, imageSize: 48)
    spec.seed = 5
    spec.options = ["env_factory": "toy_arm:make"]
    let env = try RemoteEnvironment(spec: spec)
    #expect(env.stateSize == 3 && env.instructions == ["reach", "reach"] && env.rgb.contains { $0 != 0 })
    var first: [Int: (EpisodeSummary, [Float])] = [:]
    for t in 0..<10 {
      let actions: [Float] = (0..<2).flatMap { i -> [Float] in [(t + i) % 3 != 0 ? 0.9 : -0.4, -0.5, t % 2 == 1 ? 0.6 : 0.2, 0, 0, 0, 0] }
      _ = try actions.withUnsafeBufferPointer { try env.stepChunk($0, chunk: 1) }
      for e in env.drainEpisodes() where first[e.env] == nil {
        first[e.env] = (e, Array(env.finalState[(e.env * 3)..<(e.env * 3 + 3)]))
      }
    }
    // The robot side seeds environment i's first episode with (seed * 1000003 + i) mod 2^31.
    let seeds = (0..<2).map { (5 * 1_000_003 + $0) % (1 << 31) }
    let output = try runPython(reference + "/toy_arm.py", [seeds.map(String.init).joined(separator: ","), "10"])
    let expected = try #require(JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
    for (i, e) in expected.enumerated() {
      let (summary, finalState) = try #require(first[i])
      #expect(summary.length == e["length"] as? Int && summary.successOnce == e["success"] as? Bool, "env \(i)")
      #expect(abs(summary.episodeReturn - (e["return"] as? Double ?? .nan)) < 1e-4, "env \(i): return")
      let state = try #require(e["state"] as? [Double])
      #expect(zip(finalState, state).allSatisfy { abs(Double($0.0) - $0.1) < 1e-6 }, "env \(i): final state")
    }
  }
}
