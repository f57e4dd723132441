import Foundation
import Pipeline
import Sim
import Testing
import TestSupport

@Suite struct EvaluationReportTests {
  @Test func tablesPerTaskAndSuite() throws {
    let dir = try temporaryDirectory("eval-report")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    typealias Outcome = ClosedLoopEvaluation.TaskOutcome
    let result = ClosedLoopEvaluation.Result(perTask: [
      "libero_spatial/0": Outcome(successes: 3, successesAtEnd: 2, episodes: 4),
      "libero_spatial/1": Outcome(successes: 1, successesAtEnd: 1, episodes: 4),
      "PickCube-v1": Outcome(successes: 5, successesAtEnd: 0, episodes: 10),
    ])
    try EvaluationReport.write(result, title: "test", to: dir + "/eval/step_3")
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/eval/step_3.json"))) as! [String: Any]
    let suites = json["suites"] as! [String: [String: Double]]
    #expect(suites["libero_spatial"]!["episodes"] == 8 && suites["libero_spatial"]!["success_once"] == 0.5)
    #expect(suites["libero_spatial"]!["success_at_end"] == 3.0 / 8)
    #expect(suites["all"]!["success_once"] == 0.5)
    #expect((json["overall"] as! [String: Double])["success_once"] == 9.0 / 18)
    let md = try String(contentsOfFile: dir + "/eval/step_3.md", encoding: .utf8)
    #expect(md.contains("| libero_spatial/0 | 4 | 75.0% | 50.0% |"))
    #expect(md.contains("| **overall** | 18 | 50.0% | 16.7% |"))
  }

  /// Embedded-simulator results carry outcomes: the report lists them per task, in both files.
  @Test func outcomesAreTabulated() throws {
    let dir = try temporaryDirectory("eval-outcomes")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var red = ClosedLoopEvaluation.TaskOutcome(successes: 2, successesAtEnd: 2, episodes: 5)
    red.outcomes = [.success: 2, .wrongObject: 2, .noContact: 1]
    red.targetOutOfViewAtStart = 1
    var blue = ClosedLoopEvaluation.TaskOutcome(successes: 1, successesAtEnd: 1, episodes: 3)
    blue.outcomes = [.success: 1, .dropped: 2]
    try EvaluationReport.write(ClosedLoopEvaluation.Result(perTask: ["pick-red-cube": red, "pick-blue-cylinder": blue]), title: "t", to: dir + "/e")
    let md = try String(contentsOfFile: dir + "/e.md", encoding: .utf8)
    #expect(md.contains("| success | wrong_object | target_out_of_view | no_contact | missed_grasp | dropped | unfinished |"))
    #expect(md.contains("| pick-red-cube | 2 | 2 | 0 | 1 | 0 | 0 | 0 | 1 |"))
    #expect(md.contains("| **overall** | 3 | 2 | 0 | 1 | 0 | 2 | 0 | 1 |"))
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/e.json"))) as! [String: Any]
    let overall = json["overall"] as! [String: Any]
    #expect(overall["outcomes"] as? [String: Int] == ["success": 3, "wrong_object": 2, "no_contact": 1, "dropped": 2])
    #expect(overall["target_out_of_view_at_start"] as? Int == 1)
  }

  @Test func liberoSuitesExpand() {
    #expect(LiberoSuites.expand(["libero_spatial"]).count == 10)
    #expect(LiberoSuites.expand(["libero_90", "libero_goal/3"]).count == 91)
    #expect(LiberoSuites.taskCounts.values.reduce(0, +) == 130)
  }
}
