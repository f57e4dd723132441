import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A robot-side server (tools/robot_env.py) started for a test, its output in a file.
public final class RobotProcess: @unchecked Sendable {
  public let process = Process()
  public let logPath: String
  public private(set) var port = 0

  public init(port: Int = 0, backend: String = "gym", arguments: [String] = [], environment extra: [String: String] = [:]) throws {
    logPath = try temporaryDirectory("robot-env") + "/robot.log"
    _ = FileManager.default.createFile(atPath: logPath, contents: nil)
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
    process.executableURL = URL(fileURLWithPath: try referencePython())
    process.arguments = [repositoryRoot + "/tools/robot_env.py", "--port", String(port), "--backend", backend, "--heartbeat", "0.2"] + arguments
    var environment = ProcessInfo.processInfo.environment
    environment["SDL_VIDEODRIVER"] = "dummy"
    environment.merge(extra) { $1 }
    process.environment = environment
    process.standardOutput = output
    process.standardError = output
    try process.run()
    try waitForLog("the robot listening") { $0.contains("listening on") }
    let line = log(lines: "listening on")
    self.port = Int(line.split(separator: ":").last ?? "") ?? 0
  }

  public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
  public func log(lines containing: String) -> String { log.split(separator: "\n").first { $0.contains(containing) }.map(String.init) ?? "" }

  /// Waits for the robot's log to show something (it prints each event as it happens).
  public func waitForLog(_ what: String, timeout: Double = 120, _ condition: (String) -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition(log) {
      guard process.isRunning else { throw TestSupportError("the robot exited before \(what):\n\(log)") }
      guard Date() < deadline else { throw TestSupportError("no \(what) within \(timeout) s:\n\(log)") }
      usleep(20_000)
    }
  }

  public var address: String { "127.0.0.1:\(port)" }

  public func kill() {
    Glibc.kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }

  deinit { if process.isRunning { kill() } }
}
