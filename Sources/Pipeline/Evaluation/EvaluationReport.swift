import Foundation
import Sim

/// An evaluation written next to the run as a table: success_once and success_at_end per task
/// and per suite (a task's suite is the part of its name before "/", as in LIBERO's
/// "libero_spatial/3"; other tasks form the suite "all"), in Markdown and JSON; on the embedded
/// simulator also each task's episodes by outcome (`EpisodeOutcome`: why the failures failed).
public enum EvaluationReport {
  struct Row: Codable {
    var episodes: Int
    var success_once: Double
    var success_at_end: Double
    /// Episodes per outcome name; absent where the simulator reports no outcomes.
    var outcomes: [String: Int]?
    var target_out_of_view_at_start: Int?
    /// Wrong-object failures by the object grasped.
    var wrong_objects: [String: Int]?
  }

  struct Report: Codable {
    var title: String
    var tasks: [String: Row]
    var suites: [String: Row]
    var overall: Row
  }

  static func row(_ outcomes: [ClosedLoopEvaluation.TaskOutcome]) -> Row {
    let episodes = outcomes.reduce(0) { $0 + $1.episodes }
    let denominator = Double(max(episodes, 1))
    var counts: [String: Int] = [:], wrong: [String: Int] = [:]
    for o in outcomes {
      for (kind, n) in o.outcomes { counts[kind.rawValue, default: 0] += n }
      for (object, n) in o.wrongObjects { wrong[object, default: 0] += n }
    }
    let classified = !counts.isEmpty
    return Row(
      episodes: episodes, success_once: Double(outcomes.reduce(0) { $0 + $1.successes }) / denominator,
      success_at_end: Double(outcomes.reduce(0) { $0 + $1.successesAtEnd }) / denominator,
      outcomes: classified ? counts : nil,
      target_out_of_view_at_start: classified ? outcomes.reduce(0) { $0 + $1.targetOutOfViewAtStart } : nil,
      wrong_objects: classified ? wrong : nil)
  }

  /// The Markdown table of outcomes per task (and overall): one column per outcome.
  static func outcomeTable(_ tasks: [String: Row], overall: Row) -> [String] {
    guard overall.outcomes != nil else { return [] }
    let kinds = EpisodeOutcome.allCases
    var lines = [
      "Episodes by outcome (" + kinds.map { "`\($0.rawValue)`: \($0.summary)" }.joined(separator: "; ") + "):", "",
      "| task | " + kinds.map(\.rawValue).joined(separator: " | ") + " | target out of view at start |",
      "|---|" + String(repeating: "---|", count: kinds.count + 1),
    ]
    func line(_ name: String, _ r: Row) -> String {
      "| \(name) | " + kinds.map { "\(r.outcomes?[$0.rawValue] ?? 0)" }.joined(separator: " | ") + " | \(r.target_out_of_view_at_start ?? 0) |"
    }
    lines += tasks.keys.sorted().map { line($0, tasks[$0]!) }
    lines += [line("**overall**", overall), ""]
    let wrong = tasks.keys.sorted().compactMap { task -> String? in
      guard let objects = tasks[task]!.wrong_objects, !objects.isEmpty else { return nil }
      return "- \(task): " + objects.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
    if !wrong.isEmpty { lines += ["Wrong objects grasped:", ""] + wrong + [""] }
    return lines
  }

  static func suite(of task: String) -> String {
    task.contains("/") ? String(task.split(separator: "/")[0]) : "all"
  }

  /// Writes `<path>.md` and `<path>.json` (folders created).
  public static func write(_ result: ClosedLoopEvaluation.Result, title: String, to path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    let tasks = result.perTask.mapValues { row([$0]) }
    let suites = Dictionary(grouping: result.perTask, by: { suite(of: $0.key) }).mapValues { row($0.map(\.value)) }
    let report = Report(title: title, tasks: tasks, suites: suites, overall: row(Array(result.perTask.values)))
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(report).write(to: URL(fileURLWithPath: path + ".json"), options: .atomic)
    func line(_ name: String, _ r: Row) -> String {
      String(format: "| %@ | %d | %.1f%% | %.1f%% |", name, r.episodes, 100 * r.success_once, 100 * r.success_at_end)
    }
    var md = ["# \(title)", "", "| task | episodes | success_once | success_at_end |", "|---|---|---|---|"]
    md += tasks.keys.sorted().map { line($0, tasks[$0]!) }
    md += ["", "| suite | episodes | success_once | success_at_end |", "|---|---|---|---|"]
    md += suites.keys.sorted().map { line($0, suites[$0]!) }
    md += [line("**overall**", report.overall), ""]
    md += outcomeTable(tasks, overall: report.overall)
    try md.joined(separator: "\n").write(toFile: path + ".md", atomically: true, encoding: .utf8)
  }
}
