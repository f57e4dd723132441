import Foundation
import MessagePack

#if canImport(Glibc)
import Glibc
#endif

/// One TCP connection to a robot's computer: frames of a 4-byte big-endian length and a
/// msgpack map, each way. Reads wait at most a given time for each frame, so a robot that
/// stalls is noticed instead of waited on forever.
final class RemoteConnection {
  /// The largest frame accepted (images of a whole env batch fit many times over).
  static let maxFrameBytes = 256 << 20
  let address: String
  private var fd: Int32

  struct Failure: Error, CustomStringConvertible {
    let description: String
  }

  /// Connects to "host:port" within `timeout` seconds.
  init(address: String, timeout: Double) throws {
    self.address = address
    guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
      throw Failure(description: "\(address) is not host:port")
    }
    let host = String(address[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var found: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(host, String(port), &hints, &found) == 0, let info = found else {
      throw Failure(description: "cannot resolve \(host)")
    }
    defer { freeaddrinfo(found) }
    fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
    // Non-blocking connect, bounded by poll.
    let flags = fcntl(fd, F_GETFL)
    _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 && errno != EINPROGRESS {
      let reason = String(cString: strerror(errno))
      _ = Glibc.close(fd)
      throw Failure(description: "cannot connect to \(address): \(reason)")
    }
    guard try wait(for: Int16(POLLOUT), timeout: timeout) else {
      _ = Glibc.close(fd)
      throw Failure(description: "no answer from \(address) within \(timeout) s")
    }
    var error: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
    guard error == 0 else {
      _ = Glibc.close(fd)
      throw Failure(description: "cannot connect to \(address): \(String(cString: strerror(error)))")
    }
    _ = fcntl(fd, F_SETFL, flags)
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
  }

  deinit { close() }

  func close() {
    if fd >= 0 { _ = Glibc.close(fd) }
    fd = -1
  }

  func send(_ message: MessagePackValue) throws {
    let body = MessagePackWriter.encode(message)
    let n = UInt32(body.count)
    let frame = [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + body
    var sent = 0
    while sent < frame.count {
      let n = frame.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, frame.count - sent, Int32(MSG_NOSIGNAL)) }
      guard n > 0 else { throw Failure(description: "\(address) closed the connection") }
      sent += n
    }
  }

  /// The next frame, waiting at most `timeout` seconds for it to begin and for each part.
  func receive(timeout: Double) throws -> MessagePackValue {
    let header = try read(4, timeout: timeout)
    let length = header.reduce(0) { $0 << 8 | Int($1) }
    guard length <= Self.maxFrameBytes else { throw Failure(description: "\(address) sent a frame of \(length) bytes (at most \(Self.maxFrameBytes))") }
    do {
      return try MessagePackReader.decode(try read(length, timeout: timeout))
    } catch let error as MessagePackReader.Malformed {
      throw Failure(description: "\(address) sent a frame that is not msgpack: \(error)")
    }
  }

  private func read(_ count: Int, timeout: Double) throws -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: count)
    var got = 0
    while got < count {
      guard try wait(for: Int16(POLLIN), timeout: timeout) else { throw Failure(description: "\(address) sent nothing for \(timeout) s") }
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
      guard n > 0 else { throw Failure(description: "\(address) closed the connection") }
      got += n
    }
    return buffer
  }

  private func wait(for events: Int16, timeout: Double) throws -> Bool {
    var entry = pollfd(fd: fd, events: events, revents: 0)
    while true {
      let ready = poll(&entry, 1, Int32(timeout * 1000))
      if ready < 0 && errno == EINTR { continue }
      guard ready >= 0 else { throw Failure(description: "poll: \(String(cString: strerror(errno)))") }
      return ready > 0
    }
  }
}
