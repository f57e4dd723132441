import Testing

@testable import Sim

@Suite struct DemoRecorderTests {
  /// Every expert label is observable: two consecutive steps that look the same (identical
  /// state) carry the same label. An expert that spends a step commanding "stay" before moving on
  /// breaks this, and a cloned policy then stays forever.
  @Test(arguments: ["pick-red-cube", "pick-blue-cylinder", "place-red-cube-blue-plate", "stack-red-cube-blue-cube"])
  func expertLabelsAreObservable(task: String) throws {
    let data = try DemoRecorder.record(tasks: [task], episodesPerTask: 6, threads: 2)
    #expect(data.episodes >= 5, "the expert solves the task")
    let s = TabletopEnv.stateSize, a = TabletopEnv.actionSize
    var conflicts: [String] = []
    for t in 0..<(data.steps - 1) where data.episodeIndex[t] == data.episodeIndex[t + 1] {
      let sameState = (0..<s).allSatisfy { abs(data.state[t * s + $0] - data.state[(t + 1) * s + $0]) < 1e-6 }
      let sameLabel = (0..<a).allSatisfy { abs(data.action[t * a + $0] - data.action[(t + 1) * a + $0]) < 1e-3 }
      if sameState && !sameLabel { conflicts.append("episode \(data.episodeIndex[t]) step \(data.stepIndex[t])") }
    }
    #expect(conflicts.isEmpty, "identical observations with different labels at \(conflicts)")
  }

  /// `distractorColors` replaces the split's distractor palette (minus the task's own colour);
  /// without it the seen palette's other colours appear.
  @Test func distractorColorsReplaceThePalette() throws {
    func distractors(_ configure: (inout TabletopConfig) -> Void) throws -> Set<String> {
      let env = try makeEnv(["pick-red-cube"], numEnvs: 24, seed: 3, configure: configure)
      return Set(env.instances.flatMap { e in (1...2).map { e.objectDescription($0).split(separator: " ")[0] }.map(String.init) })
    }
    #expect(try distractors { $0.distractorColors = ["red", "green", "blue"] } == ["green", "blue"])
    let plain = try distractors { _ in }
    #expect(plain.isSubset(of: ["green", "blue", "yellow", "purple", "orange"]) && plain.count >= 4)
    #expect(throws: SimError.self) { try makeEnv(["pick-red-cube"]) { $0.distractorColors = ["mauve"] } }
  }

  /// Randomised appearance changes what the demonstrations show, not what the expert does: the
  /// same seeds give the same first actions and states over different-looking first frames.
  @Test func randomisedAppearanceChangesTheImagesNotTheExpert() throws {
    let plain = try DemoRecorder.record(tasks: ["pick-red-cube"], episodesPerTask: 4)
    let varied = try DemoRecorder.record(tasks: ["pick-red-cube"], episodesPerTask: 4, randomizeAppearance: true)
    let a = TabletopEnv.actionSize, s = TabletopEnv.stateSize, pixels = 64 * 64 * 3
    #expect(Array(plain.action[0..<a]) == Array(varied.action[0..<a]))
    #expect(Array(plain.state[0..<s]) == Array(varied.state[0..<s]))
    let difference = zip(plain.rgb[0..<pixels], varied.rgb[0..<pixels]).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }
    #expect(Double(difference) / Double(pixels) > 2, "mean absolute pixel difference \(Double(difference) / Double(pixels))")
  }
}
