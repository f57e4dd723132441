import Torch

/// The data-parallel workers of a stage: one thread per thread of its placement, each pinned to
/// its share of the stage's cores with a single libtorch thread, so the tiny policy's many small
/// operations run side by side instead of one core waiting for the other inside each operation.
/// The stage's own thread hands them the pieces (`onEachWorker`) and waits.
public final class WorkerPool: ParallelWork {
  private let threads: [StageThread]

  /// Workers for `resources` (its `threads` count, its cores dealt out in contiguous shares).
  public init(name: String, resources r: StageResources) throws {
    let n = max(1, min(r.threads, r.cores.count))
    threads = try (0..<n).map { i in
      let cores = Array(r.cores[(i * r.cores.count / n)..<((i + 1) * r.cores.count / n)])
      return try StageThread(
        name: "\(name)-\(i)", resources: StageResources(component: r.component, cores: cores, threads: 1, device: r.device, numaNode: r.numaNode))
    }
  }

  /// The work a stage's updates and evaluations use: these workers on a CPU stage with more
  /// than one thread, else the stage's own thread (a GPU parallelises inside each operation).
  public static func forStage(_ name: String, _ r: StageResources) throws -> ParallelWork {
    r.torchDevice == .cpu && min(r.threads, r.cores.count) > 1 ? try WorkerPool(name: name, resources: r) : SerialWork()
  }

  deinit { for thread in threads { thread.stop() } }

  public var width: Int { threads.count }

  public func onEachWorker(_ body: @escaping (Int) throws -> Void) throws {
    for (i, thread) in threads.enumerated() { thread.start { try body(i) } }
    var first: (any Error)?
    for thread in threads {
      do { try thread.finish() } catch { first = first ?? error }
    }
    if let first { throw first }
  }
}
