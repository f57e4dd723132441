import Foundation

/// What `rlinfctl status` and the serve tool report about the server: clients, requests and
/// the latency of recent replies (receipt of an observation to the reply written), in all and
/// per connected client.
public final class ServerStats: @unchecked Sendable {
  private let lock = NSLock()
  private var requests = 0
  private var refusals = 0
  /// The latest replies' latencies in seconds, at most `window`.
  private var recent: [Double] = []
  private let window = 1024
  private var nextClient = 0
  private var connections: [Int: Connection] = [:]

  private struct Connection {
    let address: String
    var requests = 0
    /// Its latest replies' latencies, at most `clientWindow`.
    var recent: [Double] = []
  }
  private let clientWindow = 128

  public struct Snapshot: Sendable {
    public let clients: Int
    public let requests: Int
    public let refusals: Int
    public let p50Milliseconds: Double?
    public let p99Milliseconds: Double?
    /// The connected clients, oldest first.
    public let perClient: [Client]
  }

  public struct Client: Sendable {
    public let address: String
    public let requests: Int
    public let p50Milliseconds: Double?
    public let p99Milliseconds: Double?
  }

  /// A new connection from `address`; returns its id.
  func connected(address: String) -> Int {
    lock.withLock {
      nextClient += 1
      connections[nextClient] = Connection(address: address)
      return nextClient
    }
  }

  func disconnected(_ client: Int) { lock.withLock { _ = connections.removeValue(forKey: client) } }
  func refused() { lock.withLock { refusals += 1 } }

  func served(_ client: Int, seconds: Double) {
    lock.withLock {
      requests += 1
      Self.append(seconds, to: &recent, keeping: window)
      connections[client]?.requests += 1
      if connections[client] != nil { Self.append(seconds, to: &connections[client]!.recent, keeping: clientWindow) }
    }
  }

  public var snapshot: Snapshot {
    lock.withLock {
      let all = Self.quantiles(recent)
      let clients = connections.keys.sorted().map { id -> Client in
        let c = connections[id]!, q = Self.quantiles(c.recent)
        return Client(address: c.address, requests: c.requests, p50Milliseconds: q.p50, p99Milliseconds: q.p99)
      }
      return Snapshot(
        clients: connections.count, requests: requests, refusals: refusals, p50Milliseconds: all.p50, p99Milliseconds: all.p99,
        perClient: clients)
    }
  }

  private static func append(_ value: Double, to values: inout [Double], keeping limit: Int) {
    if values.count == limit { values.removeFirst() }
    values.append(value)
  }

  /// Median and 99th percentile in milliseconds (nil without samples).
  private static func quantiles(_ seconds: [Double]) -> (p50: Double?, p99: Double?) {
    let sorted = seconds.sorted()
    func at(_ q: Double) -> Double? { sorted.isEmpty ? nil : 1000 * sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))] }
    return (at(0.5), at(0.99))
  }
}
