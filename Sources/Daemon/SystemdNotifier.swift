import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// sd_notify(3) without libsystemd: datagrams to $NOTIFY_SOCKET (READY=1, STATUS=..., STOPPING=1,
/// WATCHDOG=1). Does nothing when the daemon was not started by systemd with Type=notify.
struct SystemdNotifier: Sendable {
  let socketPath: String?
  /// How often systemd wants a WATCHDOG=1 (half of WatchdogSec), nil when it wants none.
  let watchdogInterval: Double?

  init(environment: [String: String] = ProcessInfo.processInfo.environment) {
    socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
    let forUs = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
    if forUs, let usec = environment["WATCHDOG_USEC"].flatMap(Double.init), usec > 0 {
      watchdogInterval = usec / 1e6 / 2
    } else {
      watchdogInterval = nil
    }
  }

  func notify(_ state: String) {
    guard let socketPath else { return }
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    var path = Array(socketPath.utf8)
    if path.first == UInt8(ascii: "@") { path[0] = 0 }  // abstract namespace
    guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { return }
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
    let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (path.first == 0 ? 0 : 1))
    let bytes = Array(state.utf8)
    _ = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL), $0, length) }
    }
  }
}
