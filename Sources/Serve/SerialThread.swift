import Foundation
import Torch

/// One long-lived thread that runs work items in order. The server's own threads: the policy's
/// forwards and weight swaps run on one (which keeps the libtorch thread count set at its start,
/// held per thread), the connections' tasks on another (`SerialThreadExecutor`), so serving never
/// waits for a dispatch queue's or Swift's shared task pool, which busy code elsewhere in the
/// process may hold.
final class SerialThread: @unchecked Sendable {
  private let condition = NSCondition()
  private var items: [() -> Void] = []
  private var stopped = false

  /// `torchThreads`: the libtorch intra-op threads of work on this thread (nil: left alone).
  init(name: String, torchThreads: Int? = nil) {
    let thread = Thread { [self] in
      if let torchThreads { TorchRuntime.configureThreads(torchThreads) }
      while true {
        let item = condition.withLock { () -> (() -> Void)? in
          while items.isEmpty && !stopped { condition.wait() }
          return items.isEmpty ? nil : items.removeFirst()
        }
        guard let item else { return }
        item()
      }
    }
    thread.name = name
    thread.start()
  }

  /// Ends the thread once the items already given have run.
  func stop() {
    condition.withLock {
      stopped = true
      condition.signal()
    }
  }

  /// Runs `item` after the items before it.
  func async(_ item: @escaping () -> Void) {
    condition.withLock {
      items.append(item)
      condition.signal()
    }
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

  deinit { thread.stop() }

  func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    thread.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
  }
}
