import Testing

@testable import Sim

@Suite struct SplitTests {
  static let tasks = ["place-red-cube-blue-plate", "stack-red-cube-blue-cube", "pick-green-cube", "bowl-red-cube-yellow-bowl"]

  @Test func inDistributionUsesSeenColoursAndTwoDistractors() throws {
    let env = try makeEnv(Self.tasks, numEnvs: 16)
    let seen = Set(Palette.seen.map(\.rgb))
    for instance in env.instances {
      #expect(instance.variation.activeDistractors == 2)
      #expect(instance.variation.slotColors.allSatisfy { seen.contains($0) })
      #expect(instance.variation.tableColor == Palette.table)
    }
  }

  @Test func randomisedTrainingScenesVaryTableAndLightWithinTheSeenRanges() throws {
    let plain = try makeEnv(Self.tasks, numEnvs: 32)
    let varied = try makeEnv(Self.tasks, numEnvs: 32) { $0.randomizeAppearance = true }
    let tables = varied.instances.map(\.variation.tableColor)
    #expect(tables.allSatisfy(Palette.tablesSeen.contains))
    #expect(Set(tables.map { [$0.x, $0.y, $0.z] }).count >= 4)
    #expect(!tables.contains(where: Palette.tablesUnseen.contains))
    #expect(Set(varied.instances.map { $0.variation.lightDirection.x }).count > 8)
    #expect(varied.instances.allSatisfy { $0.variation.cameraJitter != .zero && [$0.variation.cameraJitter.x, $0.variation.cameraJitter.y, $0.variation.cameraJitter.z].map(abs).max()! <= 0.01 })
    #expect(varied.instances.allSatisfy { $0.variation.ambient >= 0.33 && $0.variation.ambient <= 0.47 })
    for (a, b) in zip(plain.instances, varied.instances) {
      // Objects, their colours and the distractor count stay the seed's.
      #expect(a.variation.slotColors == b.variation.slotColors)
      #expect(a.variation.activeDistractors == 2 && b.variation.activeDistractors == 2)
      #expect(a.slotPosition(0) == b.slotPosition(0))
    }
    // The vision split ignores it: its own, stronger variation.
    let vision = try makeEnv(Self.tasks, numEnvs: 16, split: .vision) { $0.randomizeAppearance = true }
    #expect(vision.instances.allSatisfy { Palette.tablesUnseen.contains($0.variation.tableColor) })
  }

  @Test func clutteredTrainingScenesPlaceTwoToFourSeenDistractorsOnTheTable() throws {
    let plain = try makeEnv(Self.tasks, numEnvs: 32)
    let cluttered = try makeEnv(Self.tasks, numEnvs: 32) { $0.maxDistractors = 4 }
    let seen = Set(Palette.seen.map(\.rgb))
    let counts = cluttered.instances.map(\.variation.activeDistractors)
    #expect(Set(counts) == [2, 3, 4], "\(counts)")
    for (a, b) in zip(plain.instances, cluttered.instances) {
      // Layout, colours and appearance stay the seed's; only the count changes.
      #expect(a.slotPosition(0) == b.slotPosition(0))
      #expect(a.variation.slotColors == b.variation.slotColors && b.variation.slotColors.allSatisfy(seen.contains))
      #expect(a.variation.tableColor == b.variation.tableColor)
      // The active distractors stand on the table, the others are parked off it.
      for (slot, movable) in b.taskModel.layout.movables.enumerated() {
        guard case .distractor(let i) = movable.role else { continue }
        let p = b.slotPosition(slot)
        #expect((abs(p.x) < 0.3 && abs(p.y) < 0.3) == (i < b.variation.activeDistractors), "slot \(slot) at \(p)")
      }
    }
    let vision = try makeEnv(Self.tasks, numEnvs: 8, split: .vision) { $0.maxDistractors = 3 }
    #expect(vision.instances.allSatisfy { $0.variation.activeDistractors == 4 })
    #expect(throws: SimError.self) { try makeEnv(["pick-red-cube"]) { $0.maxDistractors = 5 } }
  }

  @Test func spreadTrainingStartsMoveOnlyTheHand() throws {
    let plain = try makeEnv(Self.tasks, numEnvs: 32)
    let spread = try makeEnv(Self.tasks, numEnvs: 32) { $0.startSpread = 0.08 }
    let offsets = spread.instances.map { max(abs($0.handPosition.x), abs($0.handPosition.y)) }
    #expect(offsets.allSatisfy { $0 <= 0.08 } && offsets.filter { $0 > 0.04 }.count >= 8, "\(offsets)")
    for (a, b) in zip(plain.instances, spread.instances) {
      #expect(a.slotPosition(0) == b.slotPosition(0) && a.handPosition.z == b.handPosition.z)
      #expect(a.variation.slotColors == b.variation.slotColors)
    }
    // The execution split keeps its own, wider starts.
    let execution = try makeEnv(Self.tasks, numEnvs: 8, split: .execution)
    let executionSpread = try makeEnv(Self.tasks, numEnvs: 8, split: .execution) { $0.startSpread = 0.08 }
    #expect(execution.instances.map(\.handPosition) == executionSpread.instances.map(\.handPosition))
    #expect(throws: SimError.self) { try makeEnv(["pick-red-cube"]) { $0.startSpread = 0.2 } }
  }

  @Test func visionVariesColoursTablesLightAndDistractors() throws {
    let env = try makeEnv(Self.tasks, numEnvs: 16, split: .vision)
    let unseen = Set(Palette.unseen.map(\.rgb))
    #expect(env.instances.allSatisfy { $0.variation.activeDistractors == 4 })
    #expect(env.instances.contains { $0.variation.slotColors.contains(where: unseen.contains) })
    #expect(env.instances.allSatisfy { Palette.tablesUnseen.contains($0.variation.tableColor) })
    #expect(Set(env.instances.map { $0.variation.lightDirection.x }).count > 8)
    // Task objects keep their named colours.
    for instance in env.instances { #expect(instance.variation.slotColors[0] == instance.task.targetColor.rgb) }
  }

  @Test func semanticTasksAreUnseenCombinations() throws {
    let train = Set(TaskCatalog.trainTasks.map { "\($0.family)-\($0.targetColor.name)-\($0.targetShape)-\($0.referenceColor?.name ?? "")" })
    for task in TaskCatalog.semanticTasks {
      #expect(!train.contains("\(task.family)-\(task.targetColor.name)-\(task.targetShape)-\(task.referenceColor?.name ?? "")"), "\(task.name)")
    }
    let env = try makeEnv([], numEnvs: TaskCatalog.semanticTasks.count, split: .semantic)
    #expect(env.tasks.map(\.name) == TaskCatalog.semanticTasks.map(\.name))
  }

  @Test func executionWidensPosesAndMovesTheTarget() throws {
    let env = try makeEnv(["push-red-cube-green-marker"], numEnvs: 24, split: .execution, autoReset: false)
    let xs = env.instances.map { Swift.abs($0.slotPosition(0).x) }
    #expect(xs.contains { $0 > 0.12 }, "some starts outside the training region")
    let before = env.instances.map { $0.slotPosition(0) }
    let moveSteps = env.instances.map { $0.variation.moveTargetAtStep! }
    for _ in 0...moveSteps.max()! { try env.step([Float](repeating: 0, count: 24 * 7)) }  // the hand hovers
    let moved = zip(before, env.instances).filter { simdLength($0.0 - $0.1.slotPosition(0)) > 0.02 }.count
    #expect(moved >= 20, "target moved mid-episode in \(moved) of 24")
  }
}
