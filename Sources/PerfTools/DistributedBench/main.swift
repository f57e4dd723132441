// bench-distributed-swift: one rank of tools/bench-distributed, started by tools/launch-ranks
// (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT).
//
//   bench-distributed-swift allreduce CONFIG ROUNDS   gradient averaging of CONFIG's policy
//   bench-distributed-swift update CONFIG ITERATIONS [overlap|after]
//                                                    whole RL iterations of CONFIG on the ranks;
//                                                    with overlap|after, one update worker per
//                                                    rank and the gradient buckets started
//                                                    during the backward or after it
//
// allreduce: the policy's gradients (random values) averaged over the ranks in DDP buckets,
// ROUNDS times after one warm-up round; rank 0 prints the bucket sizes (for the PyTorch side),
// an `allreduce:` line (the collectives on packed buckets, as the PyTorch side measures them)
// and an `averaging:` line (the whole averaging: packing, collectives, unpacking).
// update: one warm-up iteration, then ITERATIONS measured; rank 0 prints one `update:` line
// with the mean seconds of the update and of the whole iteration.
import CSys
import Config
import Foundation
import Pipeline
import Torch

csys_line_buffered_stdout()
let arguments = CommandLine.arguments
let overlapMode = arguments.count == 5 ? arguments[4] : nil
guard arguments.count == 4 || (arguments.count == 5 && ["overlap", "after"].contains(overlapMode!) && arguments[1] == "update"),
  ["allreduce", "update"].contains(arguments[1]), let count = Int(arguments[3]), count >= 1
else {
  print("usage: bench-distributed-swift allreduce CONFIG COUNT | update CONFIG COUNT [overlap|after]")
  exit(2)
}
let scratch = NSTemporaryDirectory() + "rlinf-bench-distributed-\(getpid())"
defer { try? FileManager.default.removeItem(atPath: scratch) }

/// The config as the benchmark runs it: a fresh policy, no warm start, evaluation or checkpoints.
func benchmarkConfig(_ path: String) throws -> TrainingConfig {
  var c = try TrainingConfig.load(path: path).applyingRankEnvironment()
  c.sft.enabled = false
  c.actor.model.modelPath = nil
  c.actor.optim.criticWarmupSteps = 0
  c.runner.valCheckInterval = -1
  c.runner.valBeforeTrain = false
  c.runner.saveInterval = -1
  c.runner.maxEpochs = -1
  c.runner.logPath = scratch
  c.runner.experimentName = "bench"
  try c.validate()
  return c
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

var config = try benchmarkConfig(arguments[2])
if let overlapMode {
  // One update worker per rank: the overlap needs the last backward on the rank's own thread.
  var actor = config.cluster.placement(of: .actor)
  actor.threads = 1
  config.cluster.components[.actor] = actor
  config.actor.overlapGradReduce = overlapMode == "overlap"
  try config.validate()
}
let rank = config.cluster.rank
switch arguments[1] {
case "allreduce":
  var single = config
  single.cluster.worldSize = 1
  single.cluster.rank = 0
  let run = try RLRun(config: single)
  let parameters = run.policy.parameters.filter(\.requiresGrad)
  for p in parameters { try p.setGrad(try Tensor.randn(p.shape)) }
  let group = try ProcessGroup(try Rendezvous(cluster: config.cluster))
  let reducer = try GradientReducer(parameters, over: group)
  let sizes = reducer.buckets.map { $0.reduce(0) { $0 + parameters[$1].elementCount } }
  try reducer.finish()  // warm-up
  try group.barrier()
  let start = now()
  for _ in 0..<count { try reducer.finish() }
  let seconds = (now() - start) / Double(count)
  // The collectives alone: the same bucket sizes, already packed (what the PyTorch side times).
  let packed = try sizes.map { try Tensor.randn([$0]) }
  try group.barrier()
  let packedStart = now()
  for _ in 0..<count {
    for b in packed {
      try group.allReduceSum(b)
      try b.multiplyInPlace(1 / Double(group.worldSize))
    }
  }
  let packedSeconds = (now() - packedStart) / Double(count)
  if rank == 0 {
    let bytes = Double(sizes.reduce(0, +) * 4)
    print("buckets: " + sizes.map(String.init).joined(separator: ","))
    print(String(format: "allreduce: %d ranks, %.2f MB in %d buckets, %.3f ms per round, %.1f MB/s", group.worldSize, bytes / 1e6, sizes.count, packedSeconds * 1e3, bytes / packedSeconds / 1e6))
    print(String(format: "averaging: %d ranks, %.2f MB of %d gradients, %.3f ms per round", group.worldSize, bytes / 1e6, parameters.count, seconds * 1e3))
  }
default:
  let run = try RLRun(config: config)
  _ = try run.step()  // warm-up
  var update = 0.0, step = 0.0  // the slowest rank's (RankMetrics takes the maximum of times)
  for _ in 0..<count {
    let m = try run.step()
    update += m["time/actor_training"]!
    step += m["time/step"]!
  }
  if rank == 0 {
    let e = config.env.train
    let perIteration = Double(e.totalNumEnvs * e.maxStepsPerRolloutEpoch)
    print(String(format: "update: %d ranks, %.2f s update, %.2f s iteration, %.0f env steps/s end to end", config.cluster.worldSize, update / Double(count), step / Double(count), perIteration * Double(count) / step) + (overlapMode.map { " (\($0))" } ?? ""))
  }
}
