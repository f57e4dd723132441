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

  /// Starts rlinfd on `config` (YAML text; nil: idle) with `environment` added to this
  /// process's. `limitFileKB` runs it under `ulimit -f`.
  init(
    directory: String, config: String? = DaemonProcess.tinyJob, limitFileKB: Int? = nil, arguments: [String] = [],
    environment extra: [String: String] = [:]
  ) throws {
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
    environment.merge(extra) { $1 }
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

  /// Polls the daemon's log until `condition` holds.
  func waitForLog(timeout: Double = 120, _ what: String, _ condition: (String) -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if condition(log) { return }
      guard process.isRunning else { break }
      usleep(50_000)
    }
    throw TestSupportError("rlinfd's log never showed: \(what)\n\(log)")
  }

  func iteration(_ status: JSONValue) -> Int { Int(status["iteration"]?.number ?? -1) }

  /// SIGKILL, and waits for the process to be gone.
  func kill9() {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }

  /// Kills the daemon while it writes a checkpoint into `root`, confirmed: on inotify's report
  /// that a `.tmp-` folder appeared there the daemon is stopped (SIGSTOP), and if that folder is
  /// still there (the write had not finished) it is killed (SIGKILL); otherwise it is let go
  /// and the next write is tried. Returns the name of the half-written folder.
  func killDuringCheckpointWrite(root: String, attempts: Int = 20, timeout: Double = 120) throws -> String {
    let fd = inotify_init1(Int32(IN_CLOEXEC))
    guard fd >= 0 else { throw TestSupportError("inotify_init1 failed: errno \(errno)") }
    defer { close(fd) }
    guard inotify_add_watch(fd, root, UInt32(IN_CREATE)) >= 0 else { throw TestSupportError("cannot watch \(root): errno \(errno)") }
    let deadline = Date().addingTimeInterval(timeout)
    var buffer = [UInt8](repeating: 0, count: 4096)
    for _ in 0..<attempts {
      var created: [String] = []
      while created.isEmpty {
        guard process.isRunning, Date() < deadline else { throw TestSupportError("no checkpoint write to interrupt:\n\(log)") }
        var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&ready, 1, 200) > 0 else { continue }
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { continue }
        created = Self.createdNames(buffer, count: count).filter { $0.hasPrefix(".tmp-global_step_") }
      }
      kill(process.processIdentifier, SIGSTOP)
      if let name = created.first(where: { FileManager.default.fileExists(atPath: root + "/" + $0) }) {
        kill9()
        return name
      }
      kill(process.processIdentifier, SIGCONT)  // the write had finished already: try the next one
    }
    throw TestSupportError("\(attempts) checkpoint writes all finished before the daemon could be stopped")
  }

  /// The names in a buffer of inotify events.
  private static func createdNames(_ buffer: [UInt8], count: Int) -> [String] {
    var names: [String] = []
    var offset = 0
    let header = MemoryLayout<inotify_event>.size
    while offset + header <= count {
      let length = buffer.withUnsafeBytes { Int($0.load(fromByteOffset: offset + 12, as: UInt32.self)) }  // inotify_event.len
      let bytes = buffer[(offset + header)..<Swift.min(offset + header + length, count)].prefix { $0 != 0 }
      names.append(String(decoding: bytes, as: UTF8.self))
      offset += header + length
    }
    return names
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
