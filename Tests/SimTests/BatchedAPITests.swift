import Testing

@testable import Sim

@Suite struct BatchedAPITests {
  /// The same seeds give bit-identical observations, states and rewards, whatever the number of
  /// worker threads.
  @Test func deterministic() throws {
    let tasks = ["stack-red-cube-blue-cube", "push-red-cube-green-marker", "bowl-red-cube-yellow-bowl", "pick-yellow-sphere"]
    func run(threads: Int) throws -> ([UInt8], [Float], [Float]) {
      let env = try makeEnv(tasks, numEnvs: 8, threads: threads, seed: 9) { $0.shapedReward = true }
      let expert = ScriptedExpert(env: env)
      var random = RandomActions(seed: 5)
      var rewards: [Float] = []
      for step in 0..<40 {
        // Expert steps (grasps, progress) mixed with random ones.
        try env.step(step % 4 == 3 ? random.next(8) : expert.actions())
        rewards += env.rewards
      }
      return (Array(env.rgb), Array(env.state), rewards)
    }
    let a = try run(threads: 1), b = try run(threads: 2), c = try run(threads: 1)
    #expect(a.0 == b.0 && a.1 == b.1 && a.2 == b.2)
    #expect(a.0 == c.0 && a.1 == c.1 && a.2 == c.2)
    #expect(Set(a.2).count > 1, "shaped rewards vary")
  }

  /// Environments reset to the same state id (a GRPO group) start identical; different ids differ.
  @Test func resetStateIDsDefineGroups() throws {
    let env = try makeEnv(["place-red-cube-blue-plate"], numEnvs: 4)
    try env.reset(stateIDs: [7, 7, 8, 8])
    let image = 64 * 64 * 3
    func frame(_ i: Int) -> [UInt8] { Array(env.rgb[(i * image)..<((i + 1) * image)]) }
    #expect(frame(0) == frame(1) && frame(2) == frame(3))
    #expect(frame(0) != frame(2))
    try env.reset(seeds: [1, 2, 3, 1])
    #expect(frame(0) == frame(3) && frame(0) != frame(1))
    #expect(env.episodeSeed(3) == 1)
  }

  /// Partial auto-reset: a truncated environment restarts inside the step, its true final
  /// observation kept for bootstrapping (equal to what the same episode shows without auto-reset).
  @Test func autoResetKeepsTheFinalObservation() throws {
    let make = { (autoReset: Bool) in
      try makeEnv(["pick-red-cube", "push-blue-cube-orange-marker"], autoReset: autoReset) {
        $0.maxEpisodeSteps = 5
        $0.wristCamera = true
      }
    }
    let resetting = try make(true), plain = try make(false)
    var random = RandomActions(seed: 2)
    for step in 1...5 {
      let actions = random.next(2)
      try resetting.step(actions)
      try plain.step(actions)
      #expect(resetting.truncated[0] == (step == 5))
      #expect(resetting.finalValid[0] == (step == 5))
    }
    #expect(Array(resetting.finalRGB) == Array(plain.rgb))
    #expect(Array(resetting.finalWristRGB!) == Array(plain.wristRGB!))
    #expect(Array(resetting.finalState) == Array(plain.state))
    #expect(resetting.episodeStep(0) == 0 && plain.episodeStep(0) == 5)
    #expect(Array(resetting.rgb) != Array(plain.rgb), "a new episode is showing")
    let episodes = resetting.drainEpisodes()
    #expect(episodes.map(\.env) == [0, 1] && episodes.allSatisfy { $0.length == 5 && !$0.successOnce })
    try resetting.step(random.next(2))
    #expect(!resetting.finalValid[0] && resetting.episodeStep(0) == 1)
  }

  /// Chunked stepping equals single steps, with per-step rewards and dones, and stops an
  /// environment at its done step.
  @Test func chunkStepping() throws {
    let chunked = try makeEnv(["pick-red-cube", "pick-green-cube"]) { $0.maxEpisodeSteps = 4 }
    let single = try makeEnv(["pick-red-cube", "pick-green-cube"], autoReset: false) { $0.maxEpisodeSteps = 4 }
    var random = RandomActions(seed: 4)
    let actions = random.next(2 * 3)  // [2 envs, 3 steps, 7]
    let first = try chunked.stepChunk(actions, chunk: 3)
    for k in 0..<3 {
      var row: [Float] = []
      for i in 0..<2 { row += actions[((i * 3 + k) * 7)..<((i * 3 + k + 1) * 7)] }
      try single.step(row)
    }
    #expect(Array(chunked.rgb) == Array(single.rgb))
    #expect(first.truncated == [false, false, false, false, false, false])
    let second = try chunked.stepChunk(random.next(6), chunk: 3)
    // Step 4 of 4 truncates (index k = 0), later entries repeat the done flag.
    #expect(second.truncated == [true, true, true, true, true, true])
    #expect(second.rewards == [0, 0, 0, 0, 0, 0])
    #expect(chunked.finalValid[0] && chunked.episodeStep(0) == 0)
  }

  /// Evaluation mode: success does not end the episode, only max steps do.
  @Test func ignoreTerminations() throws {
    let env = try makeEnv(["pick-red-cube"]) { $0.ignoreTerminations = true; $0.maxEpisodeSteps = 60 }
    let expert = ScriptedExpert(env: env)
    var sawSuccess = false
    var steps = 0
    while !env.truncated[0] {
      try env.step(expert.actions())
      steps += 1
      #expect(!env.terminated[0])
      sawSuccess = sawSuccess || env.success[0]
    }
    #expect(sawSuccess && steps == 60)
    #expect(env.drainEpisodes().first?.successOnce == true)
  }

  @Test func badInputIsAClearError() throws {
    let env = try makeEnv(["pick-red-cube", "pick-green-cube"])
    func message(_ body: () throws -> Void) -> String {
      do { try body(); return "no error" } catch { return "\(error)" }
    }
    var actions = [Float](repeating: 0, count: 14)
    actions[9] = .nan
    #expect(message { try env.step(actions) }.contains("env 1, action dimension 2 is nan"))
    actions[9] = 1.5
    #expect(message { try env.step(actions) }.contains("must be finite and in [-1, 1]"))
    #expect(message { try env.step([Float](repeating: 0, count: 7)) }.contains("expected [2, 7] = 14 floats, got 7"))
    #expect(message { _ = try env.stepChunk([Float](repeating: 0, count: 14), chunk: 2) }.contains("28 floats"))
    #expect(message { try env.reset(seeds: [1]) }.contains("needs 2 seeds"))
    #expect(message { _ = try makeEnv(["pick-red-dragon"]) }.contains("unknown task"))
    #expect(message { _ = try makeEnv(["pick-red-cube"], size: 32) }.contains("imageSize must be 64...224"))
    #expect(message { _ = try makeEnv(["pick-red-cube"], threads: 0) }.contains("threads"))
    try env.step([Float](repeating: 0, count: 14))  // still usable after refused input
  }
}
