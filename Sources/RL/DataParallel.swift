import Foundation
import Torch

/// Data parallelism inside one process: the gradient of a sum of losses, each shard's loss
/// differentiated on its own worker (a libtorch thread each, so the many small ops of a tiny
/// policy run side by side instead of waiting for each other), then summed in shard order, so
/// the result depends on the shard count but never on timing.
public enum DataParallel {
  /// Sets every parameter's `grad` to sum over shards s of d loss(s) / d parameter, with shards
  /// 0..<shards dealt to the workers round-robin. `loss(s)` returns shard s's loss and anything
  /// else the caller wants back (metrics); the results come back in shard order. A shard whose
  /// loss is not finite still returns its result; the gradients are then left unset (nil) and
  /// `finite` is false, so the caller can skip the step.
  ///
  /// With an `overlapping` reducer and a single worker, the last shard's backward accumulates
  /// into `grad` (onto the other shards' sum, the same additions in the same order) with the
  /// reducer armed, so its buckets' all-reduces start during that backward; the caller then
  /// calls its `finish()`. With several workers the sum over workers comes only after every
  /// backward, so the reducer's buckets all start at `finish()`.
  public static func gradients<Result>(
    of parameters: [Tensor], shards: Int, work: ParallelWork, overlapping reducer: GradientReducer? = nil,
    loss: @escaping (Int) throws -> (Tensor, Result)
  ) throws -> (results: [Result], finite: Bool) {
    let parameters = parameters.filter(\.requiresGrad)  // frozen ones (LoRA's base weights) get none
    let workers = min(work.width, shards)
    let overlap = workers == 1 ? reducer : nil
    let box = ShardResults<Result>(shards: shards, workers: workers)
    try work.onEachWorker { w in
      guard w < workers else { return }
      var sum: [Tensor]? = nil
      var allFinite = true
      for s in stride(from: w, to: shards, by: workers) {
        let (value, result) = try loss(s)
        let finite = try value.item().isFinite
        box.set(shard: s, result: result, finite: finite)
        allFinite = allFinite && finite
        guard finite else { continue }
        if let overlap, s == shards - 1, allFinite {
          for (i, p) in parameters.enumerated() { try p.setGrad(sum?[i]) }
          sum = nil
          try overlap.arm()
          try value.backward(into: parameters)
          continue
        }
        let grads = try Autograd.gradients(of: value, withRespectTo: parameters)
        sum = try sum.map { try zip($0, grads).map { try $0 + $1 } } ?? grads
      }
      box.set(worker: w, gradients: sum)
    }
    let finite = box.finite.allSatisfy { $0 }
    if finite && overlap == nil {
      var total: [Tensor]? = nil
      for w in 0..<workers {
        guard let g = box.gradients[w] else { continue }
        total = try total.map { try zip($0, g).map { try $0 + $1 } } ?? g
      }
      for (p, g) in zip(parameters, total ?? []) { try p.setGrad(g) }
    }
    return (box.results.map { $0! }, finite)
  }
}

/// Per-shard and per-worker outputs, each slot written by one worker (under the lock) before
/// `onEachWorker` returns.
private final class ShardResults<Result>: @unchecked Sendable {
  private(set) var results: [Result?]
  private(set) var finite: [Bool]
  private(set) var gradients: [[Tensor]?]
  private let lock = NSLock()

  init(shards: Int, workers: Int) {
    results = Array(repeating: nil, count: shards)
    finite = Array(repeating: true, count: shards)
    gradients = Array(repeating: nil, count: workers)
  }

  func set(shard: Int, result: Result, finite ok: Bool) {
    lock.withLock {
      results[shard] = result
      finite[shard] = ok
    }
  }

  func set(worker: Int, gradients g: [Tensor]?) { lock.withLock { gradients[worker] = g } }
}
