import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A connection to rlinfd's control socket: send requests, read response lines.
public final class ControlClient {
  private let fd: Int32
  private var buffer: [UInt8] = []
  private var nextID = 1

  public struct Failure: Error, CustomStringConvertible {
    public let description: String
  }

  /// Connects to the socket at `path`.
  public init(socketPath path: String) throws {
    fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
      close(fd)
      throw Failure(description: "socket path too long: \(path)")
    }
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes + [0]) }
    let rc = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard rc == 0 else {
      let reason = String(cString: strerror(errno))
      close(fd)
      throw Failure(description: "cannot connect to rlinfd at \(path): \(reason) (is the daemon running? see `systemctl status rlinfd`)")
    }
  }

  deinit { close(fd) }

  /// Sends a request and waits for its response.
  public func request(_ command: ControlProtocol.Command, _ args: [String: JSONValue] = [:]) throws -> ControlResponse {
    let id = nextID
    nextID += 1
    do {
      try send(ControlRequest(id: id, cmd: command, args: args))
    } catch {
      // The daemon may have answered and closed before reading (a refused peer): show that.
      if let refusal = try? readResponse() { return refusal }
      throw error
    }
    return try readResponse()
  }

  public func send(_ request: ControlRequest) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    try sendRaw(try encoder.encode(request) + Data("\n".utf8))
  }

  /// Sends bytes as they are (tests send malformed lines with it).
  public func sendRaw(_ data: Data) throws {
    try data.withUnsafeBytes { raw in
      var offset = 0
      while offset < raw.count {
        let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { throw Failure(description: "send: \(String(cString: strerror(errno)))") }
        offset += n
      }
    }
  }

  /// Reads the next response line.
  public func readResponse() throws -> ControlResponse {
    let line = try readLine()
    do { return try JSONDecoder().decode(ControlResponse.self, from: Data(line)) } catch {
      throw Failure(description: "unreadable response from rlinfd: \(String(decoding: line, as: UTF8.self))")
    }
  }

  private func readLine() throws -> [UInt8] {
    while true {
      if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
        let line = Array(buffer[..<newline])
        buffer.removeSubrange(...newline)
        return line
      }
      var chunk = [UInt8](repeating: 0, count: 65536)
      let n = recv(fd, &chunk, chunk.count, 0)
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { throw Failure(description: n == 0 ? "rlinfd closed the connection" : "recv: \(String(cString: strerror(errno)))") }
      buffer += chunk[..<n]
    }
  }
}
