import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One running Python worker and its control channel: a Unix socket carrying one JSON object per
/// line each way. The worker runs with stdin closed; its stdout and stderr are kept (the last
/// 16 KB) to explain failures, and watched for prompts (a worker that asks "(y/n)" would wait
/// forever). Every request has a deadline; a worker that misses it, exits, or prompts is killed
/// and the request fails with its output.
final class WorkerProcess {
  let process = Process()
  private let output = OutputTail()
  private let directory: String
  private var fd: Int32 = -1
  /// Received bytes not yet returned as a line, and the buffer each `recv` fills (reused).
  private var buffer: [UInt8] = []
  private var received = [UInt8](repeating: 0, count: 65536)
  let label: String

  init(spec: WorkerSpec) throws {
    label = "\(spec.backend) worker (\(spec.task))"
    directory = NSTemporaryDirectory() + "rlinf-worker-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let socketPath = directory + "/control.sock"
    let listener = try Self.listen(at: socketPath)
    defer { Glibc.close(listener) }
    process.executableURL = URL(fileURLWithPath: spec.python)
    process.arguments = ["-u", spec.script, "--control", socketPath]
    var environment = ProcessInfo.processInfo.environment
    environment.merge(spec.environment) { $1 }
    process.environment = environment
    process.standardInput = FileHandle.nullDevice
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    output.follow(pipe.fileHandleForReading)
    do { try process.run() } catch {
      throw SimError.worker("cannot start \(spec.python) \(spec.script): \(error)")
    }
    // Only the worker writes to the pipe now: its exit ends the output reader.
    try? pipe.fileHandleForWriting.close()
    fd = try accept(listener, timeout: spec.startTimeout)
  }

  deinit {
    if fd >= 0 { Glibc.close(fd) }
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
    try? FileManager.default.removeItem(atPath: directory)
  }

  /// Sends a request and waits (at most `timeout` seconds) for its reply; a reply with
  /// "ok": false is an error carrying the worker's message.
  func request(_ message: [String: Any], timeout: Double) throws -> [String: Any] {
    let command = message["cmd"] as? String ?? "?"
    var line = try JSONSerialization.data(withJSONObject: message, options: [.sortedKeys])
    line.append(UInt8(ascii: "\n"))
    try line.withUnsafeBytes { raw in
      var offset = 0
      while offset < raw.count {
        let n = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { throw failure("lost its control channel sending \(command)") }
        offset += n
      }
    }
    let reply = try readLine(timeout: timeout, waitingFor: command)
    guard let object = try? JSONSerialization.jsonObject(with: Data(reply)) as? [String: Any] else {
      throw failure("answered \(command) with something that is not a JSON object: \(String(decoding: reply.prefix(200), as: UTF8.self))")
    }
    if object["ok"] as? Bool != true {
      throw SimError.worker("\(label) refused \(command): \(object["error"] as? String ?? "no reason given")")
    }
    return object
  }

  /// Asks the worker to exit, then makes sure it has.
  func shutdown(grace: Double = 5) {
    _ = try? request(["cmd": "close"], timeout: grace)
    let deadline = Date().addingTimeInterval(grace)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
  }

  /// Kills the worker and returns an error naming `what` with its exit status and output.
  private func failure(_ what: String) -> SimError {
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
    let status = process.terminationReason == .uncaughtSignal ? "signal \(process.terminationStatus)" : "status \(process.terminationStatus)"
    usleep(50_000)  // let the output reader catch the last lines
    return SimError.worker("\(label) \(what) (exit \(status)); its output:\n\(output.text)")
  }

  private func readLine(timeout: Double, waitingFor command: String) throws -> [UInt8] {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
      if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
        defer { buffer.removeSubrange(...newline) }
        return Array(buffer[..<newline])
      }
      if let prompt = output.prompt { throw failure("asked for input, which it cannot get (stdin is closed): \"\(prompt)\"") }
      let left = deadline.timeIntervalSinceNow
      guard left > 0 else { throw failure("did not answer \(command) within \(Int(timeout)) s") }
      var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let ready = poll(&p, 1, Int32(min(left, 0.2) * 1000))
      if ready > 0 {
        let n = received.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 { buffer += received[..<n]; continue }
        if n < 0 && errno == EINTR { continue }
        throw failure("closed its control channel while we waited for \(command)")
      }
      if !process.isRunning { throw failure("exited while we waited for \(command)") }
    }
  }

  private static func listen(at path: String) throws -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw SimError.worker("socket: \(String(cString: strerror(errno)))") }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw SimError.worker("socket path too long: \(path)") }
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes + [0]) }
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard bound == 0, Glibc.listen(fd, 1) == 0 else {
      Glibc.close(fd)
      throw SimError.worker("cannot listen on \(path): \(String(cString: strerror(errno)))")
    }
    return fd
  }

  /// Waits for the worker to connect, failing early if it exits or prompts.
  private func accept(_ listener: Int32, timeout: Double) throws -> Int32 {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
      if poll(&p, 1, 200) > 0 {
        let fd = Glibc.accept(listener, nil, nil)
        if fd >= 0 { return fd }
      }
      if let prompt = output.prompt { throw failure("asked for input while starting (stdin is closed): \"\(prompt)\"") }
      if !process.isRunning { throw failure("exited while starting") }
    }
    throw failure("did not connect within \(Int(timeout)) s of starting")
  }
}

/// The last 16 KB of a worker's output, read on a background thread; notices prompts.
private final class OutputTail: @unchecked Sendable {
  private let lock = NSLock()
  private var bytes: [UInt8] = []
  private var promptLine: String?
  static let capacity = 16 * 1024

  var text: String { lock.withLock { String(decoding: bytes, as: UTF8.self) } }
  var prompt: String? { lock.withLock { promptLine } }

  func follow(_ handle: FileHandle) {
    Thread { [self] in
      while true {
        let data = handle.availableData
        if data.isEmpty { return }
        lock.withLock {
          bytes += data
          if bytes.count > Self.capacity { bytes.removeFirst(bytes.count - Self.capacity) }
          let tail = String(decoding: bytes.suffix(512), as: UTF8.self)
          if promptLine == nil, let line = Self.promptLine(in: tail) { promptLine = line }
        }
      }
    }.start()
  }

  /// A line that asks the user something: "(y/n)", "[Y/n]", "(y|n)", "Press Enter".
  static func promptLine(in text: String) -> String? {
    let markers = ["(y/n)", "[y/n]", "(y|n)", "[y|n]", "(yes/no)", "press enter"]
    return text.split(separator: "\n").last { line in
      let lower = line.lowercased()
      return markers.contains { lower.contains($0) }
    }.map(String.init)
  }
}
