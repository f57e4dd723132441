import Foundation
import Sim
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The Python worker bridge with a real gymnasium environment (CartPole): shared-memory
/// observations and results against gymnasium run directly, and recovery from workers that
/// crash, hang or prompt.
@Suite(.serialized) struct WorkerEnvironmentTests {
  static let envs = 3, chunk = 2, limit = 12

  func spec(timeout: Double = 60, vectorized: Bool = false) throws -> WorkerSpec {
    var s = WorkerSpec(
      python: try referencePython(), script: repositoryRoot + "/tools/env_worker.py", backend: "gym", task: "CartPole-v1",
      numEnvs: Self.envs, imageSize: 32)
    s.maxChunk = Self.chunk
    s.seed = 5
    s.options = ["max_episode_steps": "\(Self.limit)", "vectorized": "\(vectorized)"]
    s.environment = ["SDL_VIDEODRIVER": "dummy"]
    s.requestTimeout = timeout
    return s
  }

  /// The test's action pattern: push right where the reference does.
  func actions(step t: Int) -> [Float] {
    (0..<Self.envs).flatMap { i in
      (0..<Self.chunk).flatMap { k -> [Float] in [((t * 7 + i * 3 + k) % 5) < 2 ? 0.5 : -0.5] + Array(repeating: 0, count: 6) }
    }
  }

  /// Per-row stepping and the batched path of vectorized simulators (gymnasium's vector API here,
  /// ManiSkill's GPU simulation on a GPU) give the same episodes.
  @Test(arguments: [false, true]) func matchesGymnasiumRunDirectly(vectorized: Bool) throws {
    let env = try WorkerEnvironment(spec: spec(vectorized: vectorized))
    #expect(env.stateSize == 4 && env.instructions == Array(repeating: "balance the pole", count: Self.envs))
    #expect(env.versions["gymnasium"] != nil)
    try env.reset(stateIDs: Array(0..<Self.envs))
    let steps = 15
    let output = try runPython(repositoryRoot + "/Tests/SimTests/Reference/gym_chunks.py", ["\(Self.envs)", "\(Self.chunk)", "\(steps)", "5", "\(Self.limit)"])
    let reference = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
    let resetState = (reference["reset_state"] as! [[Double]]).flatMap { $0 }
    #expect(zip(Array(env.state), resetState).allSatisfy { abs(Double($0) - $1) < 1e-6 })
    #expect(env.rgb.contains { $0 != 0 })  // a rendered image arrived through shared memory
    var ended = 0
    for (t, expected) in (reference["steps"] as! [[String: Any]]).enumerated() {
      // The observation slot ring: the next step writes the other slot, this one stays intact.
      let (before, values, slot) = (env.state, Array(env.state), env.slot)
      let result = try actions(step: t).withUnsafeBufferPointer { try env.stepChunk($0, chunk: Self.chunk) }
      #expect(env.slot == (slot + 1) % 2 && env.state.baseAddress != before.baseAddress)
      #expect(Array(before) == values, "step \(t): the previous slot was overwritten")
      #expect(result.rewards.map(Double.init) == expected["rewards"] as! [Double], "step \(t)")
      #expect(result.terminated == expected["terminated"] as! [Bool], "step \(t)")
      #expect(result.truncated == expected["truncated"] as! [Bool], "step \(t)")
      #expect(Array(env.finalValid) == expected["final_valid"] as! [Bool], "step \(t)")
      let state = (expected["state"] as! [[Double]]).flatMap { $0 }
      #expect(zip(Array(env.state), state).allSatisfy { abs(Double($0) - $1) < 1e-6 }, "step \(t)")
      for (i, final) in (expected["final_state"] as! [Any]).enumerated() {
        guard let final = final as? [Double] else { continue }
        #expect(zip(Array(env.finalState[(i * 4)..<(i * 4 + 4)]), final).allSatisfy { abs(Double($0) - $1) < 1e-6 }, "step \(t), env \(i): final state")
      }
      ended += env.drainEpisodes().count
    }
    #expect(ended >= Self.envs)  // every environment finished at least one episode (limit 12 steps)
    #expect(env.failures.isEmpty)
  }

  @Test func crashedWorkerIsReplaced() throws {
    let env = try WorkerEnvironment(spec: spec())
    let first = env.workerProcessID
    kill(first, SIGKILL)
    let result = try actions(step: 0).withUnsafeBufferPointer { try env.stepChunk($0, chunk: Self.chunk) }
    #expect(result.truncated.allSatisfy { $0 } && result.rewards.allSatisfy { $0 == 0 })  // the chunk is discarded
    #expect(!env.finalValid.contains(true) && env.drainEpisodes().isEmpty)
    #expect(env.failures.count == 1 && env.failures[0].contains("signal 9"))
    #expect(env.workerProcessID != first)
    let next = try actions(step: 1).withUnsafeBufferPointer { try env.stepChunk($0, chunk: Self.chunk) }
    #expect(next.rewards.contains(1))  // the new worker simulates
  }

  @Test func hungWorkerTimesOutAndIsReplaced() throws {
    let env = try WorkerEnvironment(spec: spec(timeout: 2))
    kill(env.workerProcessID, SIGSTOP)
    // The step returns (the suite would hang otherwise) with the timeout's own report.
    let result = try actions(step: 0).withUnsafeBufferPointer { try env.stepChunk($0, chunk: Self.chunk) }
    #expect(result.truncated.allSatisfy { $0 })
    #expect(env.failures.count == 1 && env.failures[0].contains("did not answer step within 2 s"))
  }

  @Test func promptingWorkerIsStoppedWithItsQuestion() throws {
    var s = try spec()
    s.script = repositoryRoot + "/Tests/SimTests/Reference/prompting_worker.py"
    s.startTimeout = 30
    do {
      _ = try WorkerEnvironment(spec: s)
      Issue.record("a worker that prompts was accepted")
    } catch {
      #expect("\(error)".contains("Download them now? (y|n)"))
    }
  }

  @Test func refusedInitNamesTheProblem() throws {
    var s = try spec()
    s.backend = "isaac"
    #expect(throws: SimError.self) { _ = try WorkerEnvironment(spec: s) }
    do { _ = try WorkerEnvironment(spec: s) } catch { #expect("\(error)".contains("unknown backend isaac")) }
  }
}
