import Foundation

/// What `rlinfctl status` and the serve tool report about the server: clients, requests and
/// the latency of recent replies (receipt of an observation to the reply written).
public final class ServerStats: @unchecked Sendable {
  private let lock = NSLock()
  private var clients = 0
  private var requests = 0
  private var refusals = 0
  /// The latest replies' latencies in seconds, at most `window`.
  private var recent: [Double] = []
  private let window = 1024

  public struct Snapshot: Sendable {
    public let clients: Int
    public let requests: Int
    public let refusals: Int
    public let p50Milliseconds: Double?
    public let p99Milliseconds: Double?
  }

  func connected() { lock.withLock { clients += 1 } }
  func disconnected() { lock.withLock { clients -= 1 } }
  func refused() { lock.withLock { refusals += 1 } }
  func served(seconds: Double) {
    lock.withLock {
      requests += 1
      if recent.count == window { recent.removeFirst() }
      recent.append(seconds)
    }
  }

  public var snapshot: Snapshot {
    lock.withLock {
      let sorted = recent.sorted()
      func quantile(_ q: Double) -> Double? { sorted.isEmpty ? nil : 1000 * sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))] }
      return Snapshot(clients: clients, requests: requests, refusals: refusals, p50Milliseconds: quantile(0.5), p99Milliseconds: quantile(0.99))
    }
  }
}
