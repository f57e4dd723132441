import Control
import Foundation
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A real rlinfd process for a test: its own folder, config, socket and log.
final class DaemonProcess {
  let directory: String
  let socket: String
  let process = Process()
  static let tinyJob = """
    runner: {max_epochs: 100000, val_check_interval: -1, save_interval: 1, keep_last_checkpoints: 2, logger: {log_path: runs, experiment_name: tiny}}
    algorithm: {adv_type: gae}
    env:
      train: {tasks: [pick-red-cube], total_num_envs: 4, max_steps_per_rollout_epoch: 4, max_episode_steps: 3, auto_reset: true, num_threads: 1}
      eval: {tasks: [pick-red-cube], total_num_envs: 2, max_episode_steps: 3, num_threads: 1}
    actor: {global_batch_size: 8, micro_batch_size: 4, model: {num_action_chunks: 2, use_proprio: true}}
    rollout: {num_threads: 1}
    """

  /// Starts rlinfd on `config` (YAML text; nil: idle). `limitFileKB` runs it under `ulimit -f`.
  init(directory: String, config: String? = DaemonProcess.tinyJob, limitFileKB: Int? = nil, arguments: [String] = []) throws {
    self.directory = directory
    socket = directory + "/rlinfd.sock"
    var args = ["--socket", socket, "--state-dir", directory] + arguments
    if let config {
      try config.write(toFile: directory + "/job.yaml", atomically: true, encoding: .utf8)
      args += ["--config", directory + "/job.yaml"]
    }
    let daemon = try builtProduct("rlinfd")
    if let limitFileKB {
      process.executableURL = URL(fileURLWithPath: "/bin/bash")
      process.arguments = ["-c", "ulimit -f \(limitFileKB); exec \"$0\" \"$@\"", daemon] + args
    } else {
      process.executableURL = URL(fileURLWithPath: daemon)
      process.arguments = args
    }
    process.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
    var environment = ProcessInfo.processInfo.environment
    environment["OPENBLAS_NUM_THREADS"] = "1"
    process.environment = environment
    FileManager.default.createFile(atPath: logPath, contents: nil)
    let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
    try log.seekToEnd()
    process.standardOutput = log
    process.standardError = log
    process.standardInput = FileHandle.nullDevice
    try process.run()
  }

  var logPath: String { directory + "/daemon.log" }
  var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

  /// A connected client, waiting for the socket to appear.
  func client(timeout: Double = 60) throws -> ControlClient {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
      if let client = try? ControlClient(socketPath: socket) { return client }
      guard process.isRunning, Date() < deadline else { throw TestSupportError("rlinfd did not open \(socket):\n\(log)") }
      usleep(50_000)
    }
  }

  func request(_ command: ControlProtocol.Command, _ args: [String: JSONValue] = [:]) throws -> ControlResponse {
    try client().request(command, args)
  }

  /// Polls status until `condition` holds.
  @discardableResult
  func waitForStatus(timeout: Double = 120, _ what: String, _ condition: (JSONValue) -> Bool) throws -> JSONValue {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if let status = try? request(.status).result, condition(status) { return status }
      guard process.isRunning else { break }
      usleep(100_000)
    }
    throw TestSupportError("rlinfd never reached: \(what)\n\(log)")
  }

  func iteration(_ status: JSONValue) -> Int { Int(status["iteration"]?.number ?? -1) }

  /// SIGKILL, and waits for the process to be gone.
  func kill9() {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }

  /// SIGTERM; returns the exit status.
  func terminate(timeout: Double = 120) throws -> Int32 {
    kill(process.processIdentifier, SIGTERM)
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(50_000) }
    guard !process.isRunning else {
      kill9()
      throw TestSupportError("rlinfd ignored SIGTERM for \(timeout) s:\n\(log)")
    }
    return process.terminationStatus
  }

  deinit { if process.isRunning { kill9() } }
}
