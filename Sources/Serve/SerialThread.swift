import Foundation
import Torch

/// One long-lived thread that runs work items in order. The server's own threads: the policy's
/// forwards and weight swaps run on one (which keeps the libtorch thread count set at its start,
/// held per thread), the accept loop on another (`SerialThreadExecutor`), so serving never
/// waits for a dispatch queue's or Swift's shared task pool, which busy code elsewhere in the
/// process may hold. (The connections' tasks run on their event loops.)
final class SerialThread: @unchecked Sendable {
  /// What the thread itself holds: its queue, not this object, so dropping the last reference
  /// to a SerialThread ends its thread.
  private final class Queue: @unchecked Sendable {
    let condition = NSCondition()
    var items: [() -> Void] = []
    var stopped = false
    var started = false
  }
  private let queue = Queue()
  private let name: String
  private let torchThreads: Int?

  /// `torchThreads`: the libtorch intra-op threads of work on this thread (nil: left alone).
  /// The thread starts with the first item.
  init(name: String, torchThreads: Int? = nil) {
    self.name = name
    self.torchThreads = torchThreads
  }

  deinit {
    queue.condition.withLock {
      queue.stopped = true
      queue.condition.signal()
    }
  }

  /// Runs `item` after the items before it.
  func async(_ item: @escaping () -> Void) {
    let start = queue.condition.withLock { () -> Bool in
      queue.items.append(item)
      queue.condition.signal()
      defer { queue.started = true }
      return !queue.started
    }
    if start { startThread() }
  }

  private func startThread() {
    let (queue, torchThreads) = (self.queue, self.torchThreads)
    let thread = Thread {
      if let torchThreads { TorchRuntime.configureThreads(torchThreads) }
      while true {
        let item = queue.condition.withLock { () -> (() -> Void)? in
          while queue.items.isEmpty && !queue.stopped { queue.condition.wait() }
          return queue.items.isEmpty ? nil : queue.items.removeFirst()
        }
        guard let item else { return }  // stopped, and every item given has run
        item()
      }
    }
    thread.name = name
    thread.start()
  }

  /// Runs `body` on the thread and waits for it.
  func sync<T>(_ body: @escaping () throws -> T) throws -> T {
    nonisolated(unsafe) var result: Result<T, Error>?
    let done = DispatchSemaphore(value: 0)
    async {
      result = Result { try body() }
      done.signal()
    }
    done.wait()
    return try result!.get()
  }
}

/// Swift tasks run on a `SerialThread` (`addTask(executorPreference:)`).
final class SerialThreadExecutor: TaskExecutor, @unchecked Sendable {
  private let thread: SerialThread

  init(name: String) { thread = SerialThread(name: name) }

  func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    thread.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
  }
}
