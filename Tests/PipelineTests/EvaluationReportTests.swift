import Foundation
import Pipeline
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

  @Test func liberoSuitesExpand() {
    #expect(LiberoSuites.expand(["libero_spatial"]).count == 10)
    #expect(LiberoSuites.expand(["libero_90", "libero_goal/3"]).count == 91)
    #expect(LiberoSuites.taskCounts.values.reduce(0, +) == 130)
  }
}
