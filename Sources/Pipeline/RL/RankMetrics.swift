import Foundation
import Torch

/// One iteration's metrics of all ranks of a data-parallel job as one record (rank 0 writes
/// it): counts and throughputs add up over ranks, times are the slowest rank's (every rank
/// waits for it at the next collective), everything else is the mean over the ranks that have
/// the metric (each rank has the same number of environments, so rates average fairly).
enum RankMetrics {
  static let summed: Set<String> = [
    "runner/environment_steps", "runner/env_steps_per_second", "env/steps_per_second", "env/num_trajectories",
    "env/worker_restarts", "train/actor/trained_samples",
  ]

  /// Every rank's metrics, in rank order.
  static func gather(_ metrics: [String: Double], over group: ProcessGroup) throws -> [[String: Double]] {
    let mine = Array(try JSONEncoder().encode(metrics))
    return try group.allGather(bytes: mine, "all-gather of the iteration's metrics").map {
      try JSONDecoder().decode([String: Double].self, from: Data($0))
    }
  }

  /// One record from every rank's metrics (from `gather`).
  static func reduce(_ all: [[String: Double]]) -> [String: Double] {
    var out: [String: Double] = [:]
    for key in Set(all.flatMap(\.keys)) {
      let values = all.compactMap { $0[key] }
      if summed.contains(key) {
        out[key] = values.reduce(0, +)
      } else if key.hasPrefix("time/") {
        out[key] = values.max()
      } else {
        out[key] = values.reduce(0, +) / Double(values.count)
      }
    }
    out["runner/ranks"] = Double(all.count)
    return out
  }
}
