import CSys
import Control
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The control socket: a Unix stream socket (mode 0660) served by one thread with poll(2).
/// Every client is non-blocking with bounded buffers: a malformed or oversized request gets an
/// error reply, a client that stops reading is dropped, and nothing a client does blocks the
/// others or training. Peers are checked with SO_PEERCRED: the daemon's own user, root, or
/// members of `allowedGroup`.
final class ControlServer: @unchecked Sendable {
  typealias Handler = (ControlRequest, _ follow: inout Bool) -> ControlResponse

  let path: String
  private let listenFD: Int32
  private let wakeRead: Int32, wakeWrite: Int32
  private let allowedGroup: gid_t?
  private let logger: Logger
  private let handler: Handler
  private let watchdog: (interval: Double, ping: @Sendable () -> Void)?
  private let lock = NSLock()
  private var outgoing: [Data] = []  // lines for every follower, queued by other threads
  private var stopping = false
  private var thread: Thread?
  private var clients: [Int32: Client] = [:]
  /// A client that has not read this much of what we sent is dropped.
  static let maxPendingBytes = 1 << 20

  private final class Client {
    let fd: Int32
    var input: [UInt8] = []
    var output: [UInt8] = []
    var following = false
    var closing = false
    init(fd: Int32) { self.fd = fd }
  }

  init(
    path: String, allowedGroup: gid_t?, logger: Logger,
    watchdog: (interval: Double, ping: @Sendable () -> Void)?, handler: @escaping Handler
  ) throws {
    self.path = path
    self.allowedGroup = allowedGroup
    self.logger = logger
    self.watchdog = watchdog
    self.handler = handler
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    if let probe = try? ControlClient(socketPath: path) {
      _ = probe
      throw ControlFailure("another rlinfd already serves \(path)")
    }
    unlink(path)  // a stale socket of a daemon that died
    let listenFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
    self.listenFD = listenFD
    guard listenFD >= 0 else { throw ControlFailure("socket: \(String(cString: strerror(errno)))") }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw ControlFailure("socket path too long: \(path)") }
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes + [0]) }
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listenFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard bound == 0 else { throw ControlFailure("cannot bind \(path): \(String(cString: strerror(errno)))") }
    chmod(path, 0o660)
    if let allowedGroup { _ = chown(path, getuid(), allowedGroup) }
    guard listen(listenFD, 64) == 0 else { throw ControlFailure("listen: \(String(cString: strerror(errno)))") }
    var pipeFDs: [Int32] = [0, 0]
    guard pipe(&pipeFDs) == 0 else { throw ControlFailure("pipe: \(String(cString: strerror(errno)))") }
    (wakeRead, wakeWrite) = (pipeFDs[0], pipeFDs[1])
    for fd in pipeFDs { Self.makeNonBlocking(fd) }
  }

  func start() {
    let thread = Thread { [self] in serve() }
    thread.name = "rlinf-control"
    self.thread = thread
    thread.start()
  }

  /// Ends the server thread and removes the socket file.
  func stop() {
    lock.withLock { stopping = true }
    wake()
    while lock.withLock({ thread != nil }) { usleep(1000) }
  }

  /// Sends one line to every client following the metrics (from any thread).
  func broadcast(_ response: ControlResponse) {
    lock.withLock { outgoing.append(response.line()) }
    wake()
  }

  private func wake() {
    var byte: UInt8 = 1
    _ = write(wakeWrite, &byte, 1)
  }

  // MARK: the server thread

  private func serve() {
    var lastPing = Date.distantPast
    while !lock.withLock({ stopping }) {
      var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0), pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)]
      for client in clients.values {
        fds.append(pollfd(fd: client.fd, events: Int16(POLLIN) | (client.output.isEmpty ? 0 : Int16(POLLOUT)), revents: 0))
      }
      _ = poll(&fds, nfds_t(fds.count), 500)
      if let watchdog, Date().timeIntervalSince(lastPing) >= watchdog.interval {
        watchdog.ping()  // the control loop is alive
        lastPing = Date()
      }
      if fds[0].revents != 0 { drainWakePipe() }
      if fds[1].revents & Int16(POLLIN) != 0 { acceptClients() }
      for entry in fds.dropFirst(2) {
        guard let client = clients[entry.fd] else { continue }
        if entry.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { readFrom(client) }
        if entry.revents & Int16(POLLOUT) != 0 { flush(client) }
      }
      let lines = lock.withLock { () -> [Data] in
        defer { outgoing = [] }
        return outgoing
      }
      for client in clients.values where client.following {
        for line in lines { client.output += line }
        flush(client)
      }
      for client in clients.values where client.output.count > Self.maxPendingBytes {
        logger.warning("dropping a control client that stopped reading (\(client.output.count) bytes pending)")
        drop(client)
      }
      for client in clients.values where client.closing && client.output.isEmpty { drop(client) }
    }
    for client in clients.values { drop(client) }
    close(listenFD)
    unlink(path)
    lock.withLock { thread = nil }
  }

  /// Non-blocking and closed on exec.
  private static func makeNonBlocking(_ fd: Int32) {
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
  }

  private func drainWakePipe() {
    var buffer = [UInt8](repeating: 0, count: 256)
    while read(wakeRead, &buffer, buffer.count) > 0 {}
  }

  private func acceptClients() {
    while true {
      let fd = accept(listenFD, nil, nil)
      guard fd >= 0 else { return }
      Self.makeNonBlocking(fd)
      let client = Client(fd: fd)
      clients[fd] = client
      if let refusal = refusePeer(fd) {
        logger.warning("refused a control client: \(refusal)")
        client.output += ControlResponse.failure(0, "permission denied: \(refusal)").line()
        client.closing = true
        flush(client)
      }
    }
  }

  /// Why the peer may not control the daemon, or nil.
  private func refusePeer(_ fd: Int32) -> String? {
    var pid: Int32 = 0, uid: UInt32 = 0, gid: UInt32 = 0
    let rc = csys_peer_credentials(fd, &pid, &uid, &gid)
    guard rc == 0 else { return "cannot read the peer's credentials (\(String(cString: strerror(rc))))" }
    if uid == 0 || uid == getuid() { return nil }
    if let allowedGroup, gid == allowedGroup || Self.supplementaryGroups(pid: pid).contains(allowedGroup) { return nil }
    return "uid \(uid) is neither the daemon's user, root, nor in its control group"
  }

  private static func supplementaryGroups(pid: pid_t) -> [gid_t] {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Groups:") }) else { return [] }
    return line.dropFirst("Groups:".count).split(separator: " ").compactMap { gid_t($0) }
  }

  private func readFrom(_ client: Client) {
    var chunk = [UInt8](repeating: 0, count: 16384)
    while true {
      let n = recv(client.fd, &chunk, chunk.count, 0)
      if n > 0 {
        client.input += chunk[..<n]
        if client.input.count > ControlProtocol.maxLineBytes + 16384 { break }
        continue
      }
      if n == 0 { client.closing = true; client.output = []; break }  // the client went away
      if errno == EAGAIN || errno == EWOULDBLOCK { break }
      if errno == EINTR { continue }
      client.closing = true
      client.output = []
      break
    }
    guard !client.closing || !client.input.isEmpty else { return }
    while let newline = client.input.firstIndex(of: UInt8(ascii: "\n")) {
      let line = Array(client.input[..<newline])
      client.input.removeSubrange(...newline)
      guard line.count <= ControlProtocol.maxLineBytes else {
        reject(client, "request of \(line.count) bytes is over the \(ControlProtocol.maxLineBytes)-byte limit", close: true)
        return
      }
      handle(line, client)
    }
    if client.input.count > ControlProtocol.maxLineBytes {
      reject(client, "request line over the \(ControlProtocol.maxLineBytes)-byte limit", close: true)
    }
    flush(client)
  }

  private func handle(_ line: [UInt8], _ client: Client) {
    if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { return }
    let request: ControlRequest
    do { request = try JSONDecoder().decode(ControlRequest.self, from: Data(line)) } catch {
      reject(client, "malformed request (expected one JSON object per line with v, id, cmd, args)", close: false)
      return
    }
    guard request.v == ControlProtocol.version else {
      reject(client, "protocol version \(request.v) is not supported (this daemon speaks \(ControlProtocol.version))", id: request.id, close: false)
      return
    }
    var follow = false
    let response = handler(request, &follow)
    if !response.ok { logger.notice("control request \(request.cmd) refused: \(response.error ?? "")") }
    client.output += response.line()
    if follow { client.following = true }
  }

  private func reject(_ client: Client, _ reason: String, id: Int = 0, close: Bool) {
    logger.notice("bad control request: \(reason)")
    client.output += ControlResponse.failure(id, reason).line()
    if close {
      client.input = []
      client.closing = true
    }
  }

  private func flush(_ client: Client) {
    while !client.output.isEmpty {
      let n = client.output.withUnsafeBytes { send(client.fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
      if n > 0 { client.output.removeFirst(n); continue }
      if n < 0 && errno == EINTR { continue }
      if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
      client.output = []
      client.closing = true
      return
    }
  }

  private func drop(_ client: Client) {
    close(client.fd)
    clients[client.fd] = nil
  }
}
