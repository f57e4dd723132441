/// Runs independent pieces of an update side by side. The pipeline hands in one backed by
/// threads pinned to the actor's cores (Staging's `WorkerPool`); the algorithms only say which
/// pieces are independent. `SerialWork` runs them one after another on the caller's thread.
public protocol ParallelWork: AnyObject {
  /// Pieces that can run at once.
  var width: Int { get }
  /// Calls `body(w)` for every worker w in 0..<width at the same time and returns when all have
  /// returned; rethrows the first error.
  func onEachWorker(_ body: @escaping (Int) throws -> Void) throws
}

/// One worker: the caller's thread.
public final class SerialWork: ParallelWork {
  public init() {}
  public var width: Int { 1 }
  public func onEachWorker(_ body: @escaping (Int) throws -> Void) throws { try body(0) }
}
