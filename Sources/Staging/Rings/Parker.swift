import Glibc
import Synchronization

/// Where a blocked ring side waits once spinning stops paying: a condition variable the other
/// side signals after publishing, only when someone is parked (one relaxed load otherwise).
///
/// The publishing side does not fence between its index store and its look at `parked`, so a
/// wake-up can be missed in a nanosecond-wide window; every park is therefore a timed wait, and
/// a missed wake-up costs at most `timeout`.
@usableFromInline final class Parker: @unchecked Sendable {
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  @usableFromInline let parked = Atomic<Int>(0)
  static let timeoutNanoseconds = 1_000_000

  init() {
    pthread_mutex_init(mutex, nil)
    var attributes = pthread_condattr_t()
    pthread_condattr_init(&attributes)
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
    pthread_cond_init(condition, &attributes)
    pthread_condattr_destroy(&attributes)
  }

  deinit {
    pthread_cond_destroy(condition)
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
    condition.deallocate()
  }

  /// Sleeps until `ready()` holds, a wake-up arrives or the timeout passes (callers re-check).
  @usableFromInline func park(until ready: () -> Bool) {
    parked.add(1, ordering: .sequentiallyConsistent)
    pthread_mutex_lock(mutex)
    if !ready() {
      var deadline = timespec()
      clock_gettime(CLOCK_MONOTONIC, &deadline)
      let nanoseconds = deadline.tv_nsec + Self.timeoutNanoseconds
      deadline.tv_sec += nanoseconds / 1_000_000_000
      deadline.tv_nsec = nanoseconds % 1_000_000_000
      pthread_cond_timedwait(condition, mutex, &deadline)
    }
    pthread_mutex_unlock(mutex)
    parked.subtract(1, ordering: .sequentiallyConsistent)
  }

  /// Wakes every parked waiter (cheap when there is none).
  @inlinable func wake() {
    guard parked.load(ordering: .relaxed) > 0 else { return }
    wakeParked()
  }

  @usableFromInline func wakeParked() {
    pthread_mutex_lock(mutex)
    pthread_cond_broadcast(condition)
    pthread_mutex_unlock(mutex)
  }
}

/// Waiting in three phases: spin (the answer is usually microseconds away on a dedicated core),
/// then yield the core, then park.
@usableFromInline struct Backoff {
  @usableFromInline var rounds = 0
  static let spinRounds = 64, yieldRounds = 128

  @usableFromInline init() {}

  /// One wait step; `parker` is used once spinning and yielding are exhausted.
  @usableFromInline mutating func wait(on parker: Parker, until ready: () -> Bool) {
    rounds += 1
    if rounds <= Self.spinRounds {
      for _ in 0..<(1 << min(rounds, 6)) { spinHint() }
    } else if rounds <= Self.spinRounds + Self.yieldRounds {
      sched_yield()
    } else {
      parker.park(until: ready)
    }
  }

  /// A few cycles of nothing the optimiser may not remove.
  @inline(never) private func spinHint() {}
}
