import Checkpoints
import Foundation
import Testing
import TestSupport

@Suite struct CheckpointStoreTests {
  func snapshot(_ step: Int, eval: Double? = nil, size: Int = 1000) -> CheckpointSnapshot {
    CheckpointSnapshot(step: step, files: ["model.bin": (0..<size).map { UInt8(($0 + step) % 251) }, "state.json": Array("{\"step\":\(step)}".utf8)], evalSuccess: eval)
  }

  @Test func commitsAtomicallyAndPointsLatestAtTheNewest() throws {
    let root = try temporaryDirectory("ckpt") + "/checkpoints"
    defer { try? FileManager.default.removeItem(atPath: root + "/..") }
    let store = try CheckpointStore(root: root, keepLast: 2, keepBest: true)
    #expect(store.latest() == nil)
    let path = try store.commit(snapshot(10, eval: 0.5, size: 10_000_000))  // several io_uring pieces
    #expect(path == root + "/global_step_10")
    #expect(FileManager.default.contents(atPath: path + "/model.bin") == Data(snapshot(10, size: 10_000_000).files["model.bin"]!))
    try store.commit(snapshot(20, eval: 0.2))
    try store.commit(snapshot(30))
    try store.commit(snapshot(40, eval: 0.3))
    // keep the last 2 (30, 40) and the best evaluated (10)
    #expect(store.list().map(\.step) == [10, 30, 40])
    #expect(store.latest()?.step == 40)
    #expect(store.best()?.step == 10)
    #expect(try String(contentsOfFile: root + "/latest", encoding: .utf8) == "global_step_40\n")
    let names = try FileManager.default.contentsOfDirectory(atPath: root).sorted()
    #expect(names == ["global_step_10", "global_step_30", "global_step_40", "latest"])
  }

  /// The job hands over the newest checkpoint its evaluations cannot tell from the top one: within
  /// one standard error of it (98% of 102 episodes: 1.39 points), and retention keeps both.
  @Test func handsOverTheNewestWithinOneStandardErrorOfTheTop() throws {
    let root = try temporaryDirectory("ckpt-best") + "/checkpoints"
    defer { try? FileManager.default.removeItem(atPath: root + "/..") }
    let store = try CheckpointStore(root: root, keepLast: 1, keepBest: true)
    func commit(_ step: Int, _ eval: Double, episodes: Int? = 102) throws {
      var s = snapshot(step, eval: eval)
      s.evalEpisodes = episodes
      try store.commit(s)
    }
    try commit(10, 0.980)
    try commit(20, 0.950)  // 3.0 points below: distinguishable
    #expect(store.best()?.step == 10)
    try commit(30, 0.970)  // 1.0 point below: within 1.39
    #expect(store.topEvaluated()?.step == 10 && store.best()?.step == 30)
    try commit(40, 0.960)  // within one error of 97.0 but not of 98.0: the top anchors it
    #expect(store.best()?.step == 30)
    #expect(store.list().map(\.step) == [10, 30, 40])
    #expect(try store.verify(root + "/global_step_30").evalEpisodes == 102)
    // The error is the top one's: a checkpoint without a count can still be handed over...
    try commit(50, 0.975, episodes: nil)
    #expect(store.best()?.step == 50)
    // ...but a top one without a count (an older manifest) allows no margin.
    try commit(60, 0.990, episodes: nil)
    try commit(70, 0.985)
    #expect(store.best()?.step == 60)
  }

  /// What a killed writer leaves behind: a temporary folder (removed on start) and, if it died
  /// while files were landing, a checkpoint that does not match its manifest (skipped).
  @Test func leftoversAndDamageNeverLoad() throws {
    let root = try temporaryDirectory("ckpt-damage")
    defer { try? FileManager.default.removeItem(atPath: root) }
    var store = try CheckpointStore(root: root, keepLast: 5)
    try store.commit(snapshot(1))
    try store.commit(snapshot(2))
    try FileManager.default.createDirectory(atPath: root + "/.tmp-global_step_3-999", withIntermediateDirectories: false)
    store = try CheckpointStore(root: root, keepLast: 5)
    #expect(!FileManager.default.fileExists(atPath: root + "/.tmp-global_step_3-999"))
    // Damage the newest: `latest` names it, but it no longer verifies; the previous one loads.
    try Data([1, 2, 3]).write(to: URL(fileURLWithPath: root + "/global_step_2/model.bin"))
    #expect(throws: CheckpointError.self) { try store.verify(root + "/global_step_2") }
    #expect(store.latest()?.step == 1)
    // A pointer to a folder that is gone falls back to the newest complete one.
    try "global_step_9\n".write(toFile: root + "/latest", atomically: true, encoding: .utf8)
    #expect(store.latest()?.step == 1)
  }

  @Test func writerRunsInTheBackgroundAndReportsFailures() throws {
    let root = try temporaryDirectory("ckpt-writer")
    defer { try? FileManager.default.removeItem(atPath: root) }
    let store = try CheckpointStore(root: root, keepLast: 3)
    let results = ResultsBox()
    let writer = CheckpointWriter(store: store) { step, result in results.append(step, result) }
    writer.submit(snapshot(1))
    writer.submit(snapshot(2))
    // A file name the file system refuses: the write fails, the earlier checkpoints stay.
    writer.submit(CheckpointSnapshot(step: 3, files: [String(repeating: "x", count: 300): [1]]))
    writer.waitUntilIdle()
    writer.stop()
    #expect(results.steps == [1, 2, 3])
    #expect(results.failures == [3])
    #expect(store.latest()?.step == 2)
    #expect(!((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).contains { $0.hasPrefix(".tmp-") })
  }
}

final class ResultsBox: @unchecked Sendable {
  private let lock = NSLock()
  private var all: [(Int, Bool)] = []
  func append(_ step: Int, _ result: Result<String, any Error>) {
    lock.withLock { all.append((step, (try? result.get()) != nil)) }
  }
  var steps: [Int] { lock.withLock { all.map(\.0) } }
  var failures: [Int] { lock.withLock { all.filter { !$0.1 }.map(\.0) } }
}
