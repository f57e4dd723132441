import CSys
import Foundation
import Torch

/// A long-lived thread for one stage, pinned to its cores, its memory bound to its NUMA node
/// and its libtorch intra-op thread count set once (libtorch keeps that count per thread).
/// It runs one job at a time: `start` hands it a job, `finish` waits for it and rethrows.
public final class StageThread: @unchecked Sendable {
  public let resources: StageResources
  /// What could not be applied and was skipped (e.g. NUMA binding in a container).
  public private(set) var notes: [String] = []
  private let condition = NSCondition()
  private var job: (() throws -> Void)?
  private var result: Result<Void, any Error>?
  private var stopping = false
  private let name: String
  private var setup: Result<Void, any Error>?

  /// Starts the thread and waits until it is pinned; a pinning failure is thrown here.
  public init(name: String, resources: StageResources) throws {
    self.resources = resources
    self.name = name
    // The thread holds its StageThread until `stop()` ends it (and holds nothing after).
    let thread = Thread {
      let outcome = Result { try self.applyResources() }
      self.condition.withLock {
        self.setup = outcome
        self.condition.broadcast()
      }
      if case .success = outcome { self.serve() }
    }
    thread.name = name
    thread.start()
    try condition.withLock {
      while setup == nil { condition.wait() }
      try setup!.get()
    }
  }

  /// Hands the thread a job (it must be idle).
  public func start(_ job: @escaping () throws -> Void) {
    condition.withLock {
      precondition(self.job == nil && result == nil, "stage thread \(name) is busy")
      self.job = job
      condition.broadcast()
    }
  }

  /// Waits for the job handed by `start` and rethrows its error.
  public func finish() throws {
    let outcome = condition.withLock {
      while result == nil { condition.wait() }
      defer { result = nil }
      return result!
    }
    try outcome.get()
  }

  /// Runs `body` on this thread and waits for its result (it must be idle).
  public func run<T>(_ body: @escaping () throws -> T) throws -> T {
    var value: T?
    start { value = try body() }
    try finish()
    return value!
  }

  /// Ends the thread after its current job (owners call this; the thread keeps itself alive).
  public func stop() {
    condition.withLock {
      stopping = true
      condition.broadcast()
    }
  }

  private func serve() {
    while true {
      let next: (() throws -> Void)? = condition.withLock {
        while job == nil && !stopping { condition.wait() }
        return job
      }
      guard let next else { return }
      let outcome = Result { try next() }
      condition.withLock {
        job = nil
        result = outcome
        condition.broadcast()
      }
    }
  }

  private func applyResources() throws {
    let cores = resources.cores.map(Int32.init)
    let rc = csys_pin_current_thread(cores, Int32(cores.count))
    guard rc == 0 else {
      throw PipelineError("cannot pin the \(resources.component.rawValue) stage to cores \(resources.cores): \(String(cString: strerror(rc)))")
    }
    if let node = resources.numaNode {
      let rc = csys_numa_bind_current_thread(Int32(node))
      if rc != 0 { notes.append("memory not bound to NUMA node \(node): \(String(cString: strerror(rc)))") }
    }
    TorchRuntime.configureThreads(resources.threads)
  }
}

/// A pipeline failure that is not a ring closing: a stage's own error, or a set-up problem.
public struct PipelineError: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}
