import Dispatch
import Foundation
import Pipeline
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

  @Test func closeWakesABlockedConsumer() throws {
    let ring = SPSCRing<Int>(capacity: 4)
    DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { ring.close() }
    let start = Date()
    #expect(throws: RingClosed.self) { _ = try ring.pop() }
    #expect(Date().timeIntervalSince(start) < 5)
  }

  @Test func closeWakesABlockedProducer() throws {
    let ring = SPSCRing<Int>(capacity: 2)
    try ring.push(1)
    try ring.push(2)
    DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { ring.close() }
    #expect(throws: RingClosed.self) { try ring.push(3) }
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
