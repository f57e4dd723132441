import Synchronization

/// Why a ring operation gave up: the ring was closed (shutdown, or another stage failed).
public struct RingClosed: Error, CustomStringConvertible {
  public init() {}
  public var description: String { "the ring was closed" }
}

/// A single-producer single-consumer lock-free ring of `capacity` fixed-size elements.
///
/// One thread pushes, one thread pops. The producer publishes `head` (elements written), the
/// consumer publishes `tail` (elements read); each keeps a cached copy of the other's index and
/// reloads it only when the cache says full / empty, so the shared cache lines are touched once
/// per batch of operations, not per operation. Indices only grow; the slot is index & mask.
/// Nothing allocates after `init`. Blocking calls spin, yield, then park, and end with
/// `RingClosed` once the ring is closed (pop still drains what was pushed before the close).
///
/// The operations are inlinable so that other modules get them specialised for their element
/// type (a generic call through witness tables costs more than the operation itself).
public final class SPSCRing<Element: BitwiseCopyable>: @unchecked Sendable {
  public let capacity: Int
  @usableFromInline let mask: Int
  @usableFromInline let slots: UnsafeMutablePointer<Element>
  // Each index on its own cache lines (see PaddedIndex), in the order producer, consumer.
  @usableFromInline let head = PaddedIndex()
  @usableFromInline let tail = PaddedIndex()
  @usableFromInline let closedFlag = PaddedFlag()
  @usableFromInline let producerCache = PaddedCache()  // the producer's copy of tail
  @usableFromInline let consumerCache = PaddedCache()  // the consumer's copy of head
  @usableFromInline let notEmpty = Parker(), notFull = Parker()

  /// `capacity` is rounded up to a power of two.
  public init(capacity: Int) {
    precondition(capacity >= 1, "ring capacity must be at least 1")
    var size = 1
    while size < capacity { size <<= 1 }
    self.capacity = size
    mask = size - 1
    slots = .allocate(capacity: size)
  }

  deinit { slots.deallocate() }

  // MARK: producer side

  /// Pushes without waiting; false when the ring is full or closed.
  @inlinable
  public func tryPush(_ element: Element) -> Bool {
    guard !isClosed else { return false }
    let h = head.value.load(ordering: .relaxed)
    if h - producerCache.value >= capacity {
      producerCache.value = tail.value.load(ordering: .acquiring)
      if h - producerCache.value >= capacity { return false }
    }
    (slots + (h & mask)).initialize(to: element)
    head.value.store(h + 1, ordering: .releasing)
    notEmpty.wake()
    return true
  }

  /// Pushes, waiting while the ring is full; throws once it is closed.
  @inlinable
  public func push(_ element: Element) throws(RingClosed) {
    var backoff = Backoff()
    while !tryPush(element) {
      if isClosed { throw RingClosed() }
      backoff.wait(on: notFull) { isClosed || head.value.load(ordering: .relaxed) - tail.value.load(ordering: .acquiring) < capacity }
    }
  }

  // MARK: consumer side

  /// Pops without waiting; nil when the ring is empty.
  @inlinable
  public func tryPop() -> Element? {
    let t = tail.value.load(ordering: .relaxed)
    if t == consumerCache.value {
      consumerCache.value = head.value.load(ordering: .acquiring)
      if t == consumerCache.value { return nil }
    }
    let element = slots[t & mask]
    tail.value.store(t + 1, ordering: .releasing)
    notFull.wake()
    return element
  }

  /// Pops, waiting while the ring is empty; throws once it is closed and drained.
  @inlinable
  public func pop() throws(RingClosed) -> Element {
    var backoff = Backoff()
    while true {
      if let element = tryPop() { return element }
      if isClosed {
        // Elements pushed just before the close are still delivered.
        if let element = tryPop() { return element }
        throw RingClosed()
      }
      backoff.wait(on: notEmpty) { isClosed || head.value.load(ordering: .acquiring) != tail.value.load(ordering: .relaxed) }
    }
  }

  // MARK: both sides

  /// Elements pushed and not yet popped (a snapshot).
  @inlinable
  public var count: Int { head.value.load(ordering: .acquiring) - tail.value.load(ordering: .acquiring) }

  /// Closes the ring: blocked and later calls end with `RingClosed` (pops drain first).
  public func close() {
    closedFlag.value.store(true, ordering: .sequentiallyConsistent)
    notEmpty.wake()
    notFull.wake()
    // Parked waiters re-check on their timed wake-up at the latest.
  }

  @inlinable
  public var isClosed: Bool { closedFlag.value.load(ordering: .acquiring) }
}

// Padding: 64-byte cache lines, and 128 bytes between hot fields defeats the adjacent-line
// prefetcher too. Swift lays out stored properties in declaration order.
typealias Pad = (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int)
let zeroPad: Pad = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

/// An atomic index alone on its cache lines.
@usableFromInline final class PaddedIndex: Sendable {
  private let before = zeroPad
  @usableFromInline let value = Atomic<Int>(0)
  private let after = zeroPad
  init() {}
}

@usableFromInline final class PaddedFlag: Sendable {
  private let before = zeroPad
  @usableFromInline let value = Atomic<Bool>(false)
  private let after = zeroPad
  init() {}
}

/// One side's private copy of the other side's index (never touched by the other thread).
@usableFromInline final class PaddedCache: @unchecked Sendable {
  private let before = zeroPad
  @usableFromInline var value = 0
  private let after = zeroPad
  init() {}
}
