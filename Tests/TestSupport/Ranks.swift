import Foundation

/// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's pick for port 0).
public func unusedLocalPort() throws -> Int {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  guard fd >= 0 else { throw TestSupportError("socket() failed") }
  defer { close(fd) }
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  address.sin_port = 0
  var length = socklen_t(MemoryLayout<sockaddr_in>.size)
  let bound = withUnsafeMutablePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
  }
  guard bound else { throw TestSupportError("bind/getsockname on 127.0.0.1 failed") }
  return Int(UInt16(bigEndian: address.sin_port))
}

/// Runs `body(rank)` for ranks 0..<count, each on a thread of its own (ranks block on each
/// other in collectives, so they must not share a pool), and returns their results in rank
/// order once all have ended; the first error thrown is rethrown.
public func onRankThreads<R: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> R) throws -> [R] {
  let results = RankResults<R>(count)
  let done = DispatchGroup()
  for rank in 0..<count {
    done.enter()
    let thread = Thread {
      results.set(rank, Result { try body(rank) })
      done.leave()
    }
    thread.stackSize = 8 << 20
    thread.start()
  }
  done.wait()
  return try results.values.map { try $0!.get() }
}

private final class RankResults<R>: @unchecked Sendable {
  private(set) var values: [Result<R, Error>?]
  private let lock = NSLock()
  init(_ count: Int) { values = Array(repeating: nil, count: count) }
  func set(_ rank: Int, _ value: Result<R, Error>) { lock.withLock { values[rank] = value } }
}
