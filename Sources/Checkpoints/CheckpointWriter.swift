import Foundation

/// Writes snapshots to a `CheckpointStore` on a background thread, so training waits only for
/// the snapshot copy. Snapshots are written in order; `waitUntilIdle()` blocks until every
/// submitted one is on disk (or failed). Failures (disk full, I/O errors) are reported through
/// `onResult`; the previous checkpoints stay valid and training goes on.
public final class CheckpointWriter: @unchecked Sendable {
  public let store: CheckpointStore
  private let condition = NSCondition()
  private var queue: [CheckpointSnapshot] = []
  private var writing = false
  private var stopping = false
  private let onResult: @Sendable (Int, Result<String, any Error>) -> Void

  public init(store: CheckpointStore, onResult: @escaping @Sendable (_ step: Int, _ result: Result<String, any Error>) -> Void) {
    self.store = store
    self.onResult = onResult
    let thread = Thread { [self] in serve() }
    thread.name = "rlinf-checkpoint"
    thread.start()
  }

  /// Queues a snapshot for writing and returns at once.
  public func submit(_ snapshot: CheckpointSnapshot) {
    condition.withLock {
      queue.append(snapshot)
      condition.broadcast()
    }
  }

  /// Blocks until everything submitted so far is written or has failed.
  public func waitUntilIdle() {
    condition.withLock { while !queue.isEmpty || writing { condition.wait() } }
  }

  /// Finishes the queued writes, then ends the thread.
  public func stop() {
    waitUntilIdle()
    condition.withLock {
      stopping = true
      condition.broadcast()
    }
  }

  private func serve() {
    while true {
      let next: CheckpointSnapshot? = condition.withLock {
        while queue.isEmpty && !stopping { condition.wait() }
        guard !queue.isEmpty else { return nil }
        writing = true
        return queue.removeFirst()
      }
      guard let next else { return }
      let result = Result { try store.commit(next) }
      onResult(next.step, result)
      condition.withLock {
        writing = false
        condition.broadcast()
      }
    }
  }
}
