// bench-rl-swift: whole RL iterations (rollout, advantages, update, weight sync) of training
// configs, side by side in one run, with each phase's share of the time and the cores it kept
// busy; then the simulator alone on the env stage's resources (the ceiling of end-to-end
// throughput), and the warm start's and an evaluation's busy cores. Run through tools/bench-rl.
//
//   bench-rl-swift ITERATIONS LABEL=CONFIG [LABEL=CONFIG ...]
//
// Each config runs with a freshly initialised policy of its architecture (speed does not depend
// on the weights), no warm start, critic warm-up, evaluation or checkpoints; one iteration warms
// up, the next ITERATIONS are measured. The last config is compared with the first.
import CSys
import Config
import Dispatch
import Foundation
import Pipeline
import Sim
import Staging

csys_line_buffered_stdout()
let arguments = CommandLine.arguments
guard arguments.count >= 3, let iterations = Int(arguments[1]), iterations >= 1 else {
  print("usage: bench-rl-swift ITERATIONS LABEL=CONFIG [LABEL=CONFIG ...]")
  exit(2)
}
let runs = arguments.dropFirst(2).map { entry -> (label: String, path: String) in
  let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
  return parts.count == 2 ? (parts[0], parts[1]) : (entry, entry)
}
let scratch = NSTemporaryDirectory() + "rlinf-bench-rl-\(getpid())"
defer { try? FileManager.default.removeItem(atPath: scratch) }

func f(_ x: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", x) }
func pad(_ cells: [String], _ widths: [Int]) -> String {
  zip(cells, widths).map { $0.count >= $1 ? $0 : $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: "  ")
}
/// A config as the benchmark runs it.
func benchmarkConfig(_ path: String, name: String) throws -> TrainingConfig {
  var c = try TrainingConfig.load(path: path)
  c.sft.enabled = false
  c.actor.model.modelPath = nil
  c.actor.optim.criticWarmupSteps = 0
  c.runner.valCheckInterval = -1
  c.runner.saveInterval = -1
  c.runner.maxEpochs = -1
  c.runner.logPath = scratch
  c.runner.experimentName = name
  try c.validate()
  return c
}

/// Sums of one config's measured iterations.
struct Measured {
  var envSteps = 0.0, wall = 0.0
  var rollout = 0.0, advantages = 0.0, update = 0.0, sync = 0.0
  var envStage = 0.0, rolloutStage = 0.0
  var rolloutCoreSeconds = 0.0, trainCoreSeconds = 0.0
  var perSecond: Double { envSteps / wall }
}

var results: [(label: String, config: TrainingConfig, measured: Measured)] = []
for (index, run) in runs.enumerated() {
  let config = try benchmarkConfig(run.path, name: "run\(index)")
  let job = try RLRun(config: config)
  let e = config.env.train, m = config.actor.model
  print("\(run.label) (\(run.path)): \(e.totalNumEnvs) envs x \(e.maxStepsPerRolloutEpoch) steps, K = \(m.numActionChunks), patch_pool \(m.patchPool), update_epoch \(config.algorithm.updateEpoch), batch \(config.actor.globalBatchSize)/\(config.actor.microBatchSize)")
  for line in job.placement.summary { print("  placement: " + line) }
  _ = try job.step()  // warm-up
  var sum = Measured()
  for _ in 0..<iterations {
    let x = try job.step()
    let adv = x["time/cal_adv_and_returns"] ?? 0
    sum.envSteps += Double(e.totalNumEnvs * e.maxStepsPerRolloutEpoch * config.algorithm.rolloutEpoch)
    sum.wall += x["time/step"]!
    sum.rollout += x["time/generate_rollouts"]!
    sum.advantages += adv
    sum.update += x["time/actor_training"]! - adv
    sum.sync += x["time/weight_sync"]!
    sum.envStage += x["time/env_stage"]!
    sum.rolloutStage += x["time/rollout_stage"]!
    sum.rolloutCoreSeconds += x["cores/generate_rollouts"]! * x["time/generate_rollouts"]!
    sum.trainCoreSeconds += x["cores/actor_training"]! * x["time/actor_training"]!
    print(String(format: "  iteration: %.2f s, %.0f env steps/s end to end", x["time/step"]!, x["runner/env_steps_per_second"]!))
  }
  results.append((run.label, config, sum))
}

print("\nwhole RL iterations (\(iterations) measured per config; shares of the iteration's wall time; cores = CPU time / wall time)")
let widths = [22, 12, 18, 14, 14, 12, 16, 14]
print(pad(["settings", "env steps/s", "rollout", "advantages", "update", "weight sync", "env/rollout busy", "update cores"], widths))
for r in results {
  let m = r.measured
  func share(_ x: Double) -> String { f(100 * x / m.wall, 1) + "%" }
  print(pad([
    r.label, f(m.perSecond), share(m.rollout) + " (" + f(m.rolloutCoreSeconds / m.rollout, 2) + " cores)", share(m.advantages),
    share(m.update), share(m.sync), f(100 * m.envStage / m.rollout) + "% / " + f(100 * m.rolloutStage / m.rollout) + "%",
    f(m.trainCoreSeconds / (m.update + m.advantages), 2),
  ], widths))
}

// The simulator alone on the env stage's resources (the ceiling), then the busy cores of the
// warm start and of an evaluation on the actor's (helpers in Measurements.swift: they run on
// stage threads, away from the main actor that owns this file's globals).
let main = results.last!.config
let placement = try Placement(config: main)
let simulatorSteps = try Measurements.simulatorAlone(main, placement: placement)
let resources = placement.mode == .collocated ? placement.rollout : placement.env
print("\nsimulator alone on the env stage's resources (\(resources.summary)), \(main.env.train.totalNumEnvs) envs, random actions: \(f(simulatorSteps)) env steps/s")
var warm = main
warm.sft.enabled = true
warm.sft.episodesPerTask = 8
warm.sft.steps = 60
warm.runner.experimentName = "warm-start"
let warmStart = try Measurements.busy { _ = try SFTWarmStart.run(warm, log: { _ in }) }
let evaluation = try Measurements.evaluation(try benchmarkConfig(runs.last!.path, name: "eval"), placement: placement)
print("warm start (8 expert episodes per task, 60 SFT steps): \(f(warmStart.wall, 1)) s, \(f(warmStart.cores, 2)) cores busy of the actor's \(placement.actor.cores.count)")
print("evaluation (\(main.env.eval.totalNumEnvs) episodes): \(f(evaluation.wall, 1)) s, \(f(evaluation.cores, 2)) cores busy of the actor's \(placement.actor.cores.count)")

let first = results.first!.measured, last = results.last!.measured
print(String(format: "\nmain job: %.0f env steps/s end to end (%.2fx the previous settings); simulator alone %.0f env steps/s", last.perSecond, last.perSecond / first.perSecond, simulatorSteps))
