/// LIBERO's suites and their task counts (130 tasks in all): a config may name a whole suite
/// ("libero_spatial") where it lists tasks; it stands for all of its tasks.
public enum LiberoSuites {
  public static let taskCounts = ["libero_spatial": 10, "libero_object": 10, "libero_goal": 10, "libero_10": 10, "libero_90": 90]

  public static func expand(_ tasks: [String]) -> [String] {
    tasks.flatMap { task in taskCounts[task].map { n in (0..<n).map { "\(task)/\($0)" } } ?? [task] }
  }
}
