import Dispatch
import Foundation
@testable import Staging
import Testing

/// The lock-free ring: order, capacity, concurrency (no loss, no duplication), and shutdown of
/// blocked sides.
@Suite struct SPSCRingTests {
  @Test func keepsOrderAndCapacity() throws {
    let ring = SPSCRing<Int>(capacity: 3)
    #expect(ring.capacity == 4)  // rounded up to a power of two
    for i in 0..<4 { #expect(ring.tryPush(i)) }
    #expect(!ring.tryPush(4))  // full
    #expect(ring.count == 4)
    #expect(ring.tryPop() == 0)
    #expect(ring.tryPush(4))
    var popped: [Int] = []
    while let x = ring.tryPop() { popped.append(x) }
    #expect(popped == [1, 2, 3, 4])
    #expect(ring.tryPop() == nil)
  }

  /// Two threads, a small ring and a million items: every item arrives once, in order.
  @Test func concurrentStressLosesAndDuplicatesNothing() throws {
    let ring = SPSCRing<Int>(capacity: 16)
    let items = 1_000_000
    let producer = Thread {
      for i in 0..<items { try! ring.push(i) }
    }
    producer.start()
    var expected = 0
    var outOfOrder = 0
    for _ in 0..<items {
      let x = try ring.pop()
      if x != expected { outOfOrder += 1 }
      expected = x + 1
    }
    #expect(outOfOrder == 0)
    #expect(expected == items)
    #expect(ring.tryPop() == nil)
  }

  /// Multi-word elements are never torn.
  @Test func carriesStructsWhole() throws {
    struct Pair: Equatable { var a: Int; var b: Int }
    let ring = SPSCRing<Pair>(capacity: 8)
    let items = 200_000
    Thread { for i in 0..<items { try! ring.push(Pair(a: i, b: -i)) } }.start()
    var torn = 0
    for i in 0..<items where try ring.pop() != Pair(a: i, b: -i) { torn += 1 }
    #expect(torn == 0)
  }

  /// What a blocked call on another thread ended with (nil while it has not returned).
  final class Outcome: @unchecked Sendable {
    private let lock = NSLock()
    private var closed: Bool?
    var endedClosed: Bool? { lock.withLock { closed } }
    func record(_ body: () throws -> Void) {
      var result = false
      do { try body() } catch { result = error is RingClosed }
      lock.withLock { closed = result }
    }
  }

  /// Runs `body` on its own thread; the semaphore is signalled when it returns.
  static func onThread(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
    let done = DispatchSemaphore(value: 0)
    Thread { body(); done.signal() }.start()
    return done
  }

  /// Waits until a side of the ring is parked (blocked past spinning and yielding); a generous
  /// limit only guards against a hang.
  static func waitUntilParked(_ parker: Parker) -> Bool {
    let deadline = Date().addingTimeInterval(60)
    while parker.parked.load(ordering: .acquiring) == 0 {
      guard Date() < deadline else { return false }
      sched_yield()
    }
    return true
  }

  /// `call` blocks on `ring` (parked on `parker`) until the ring is closed, then ends with RingClosed.
  static func expectCloseWakes(_ ring: SPSCRing<Int>, parker: Parker, _ name: String, _ call: @escaping @Sendable () throws -> Void) {
    let outcome = Outcome()
    let done = onThread { outcome.record(call) }
    #expect(waitUntilParked(parker), "\(name) never blocked")
    #expect(outcome.endedClosed == nil, "\(name) returned before the close")
    ring.close()
    #expect(done.wait(timeout: .now() + 60) == .success, "the blocked \(name) never returned after the close")
    #expect(outcome.endedClosed == true, "\(name) ends with RingClosed")
  }

  @Test func closeWakesABlockedConsumer() throws {
    let ring = SPSCRing<Int>(capacity: 4)
    Self.expectCloseWakes(ring, parker: ring.notEmpty, "pop") { _ = try ring.pop() }
  }

  @Test func closeWakesABlockedProducer() throws {
    let ring = SPSCRing<Int>(capacity: 2)
    try ring.push(1)
    try ring.push(2)
    Self.expectCloseWakes(ring, parker: ring.notFull, "push") { try ring.push(3) }
  }

  @Test func popDrainsWhatWasPushedBeforeTheClose() throws {
    let ring = SPSCRing<Int>(capacity: 4)
    try ring.push(7)
    try ring.push(8)
    ring.close()
    #expect(!ring.tryPush(9))
    #expect(try ring.pop() == 7)
    #expect(try ring.pop() == 8)
    #expect(throws: RingClosed.self) { _ = try ring.pop() }
  }
}
