// bench-pipeline-swift: rollout throughput of each placement mode, on balanced synthetic stages
// and on the embedded simulator with the tiny OFT policy, plus the ring alone, and the automatic
// placement's choice measured beside the best manual placement. Run through
// tools/bench-pipeline, which builds it in release mode.
import CSys
import Config
import Dispatch
import Foundation
import Pipeline
import Staging

csys_line_buffered_stdout()
let arguments = CommandLine.arguments
let configPath = arguments.count > 1 ? arguments[1] : "configs/ppo-openvla_oft.yaml"
let machine = Machine.current()
guard machine.cpus.count >= 2 else {
  print("bench-pipeline needs at least 2 CPUs (this process may use \(machine.cpus))")
  exit(1)
}
let (coreA, coreB) = (machine.cpus[0], machine.cpus[1])

/// A config's placement: collocated on every core, or env on core A and rollout on core B.
func placed(_ base: TrainingConfig, _ mode: PlacementMode, subBatches: Int, threads: Int = 2) throws -> TrainingConfig {
  var c = base
  c.rollout.pipelineStageNum = subBatches
  c.cluster.placementMode = mode
  c.cluster.components = mode == .collocated
    ? [.env: ComponentPlacement(threads: threads), .rollout: ComponentPlacement(threads: threads), .actor: ComponentPlacement()]
    : [.env: ComponentPlacement(cores: [coreA], threads: 1), .rollout: ComponentPlacement(cores: [coreB], threads: 1), .actor: ComponentPlacement()]
  try c.validate()
  return c
}

func row(_ cells: [String], widths: [Int]) -> String {
  zip(cells, widths).map { $0.count >= $1 ? $0 : $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: " ")
}
func f(_ x: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", x) }

// MARK: the ring alone

let resourcesA = StageResources(component: .env, cores: [coreA], threads: 1, device: "cpu", numaNode: nil)
let resourcesB = StageResources(component: .rollout, cores: [coreB], threads: 1, device: "cpu", numaNode: nil)
let threadA = try StageThread(name: "bench-a", resources: resourcesA)
let threadB = try StageThread(name: "bench-b", resources: resourcesB)
print("ring alone (SPSC, producer on core \(coreA), consumer on core \(coreB)) ...")
let itemsPerSecond = try (0..<3).map { _ in try RingBench.throughput(producer: threadA, consumer: threadB, items: 5_000_000) }.max()!
let handoffNanoseconds = try (0..<3).map { _ in try RingBench.handoffLatency(a: threadA, b: threadB, roundTrips: 100_000) }.min()!
threadA.stop()
threadB.stop()
print("  small items (Int):        \(f(itemsPerSecond / 1e6, 1)) M items/s")
print("  batch-slot hand-off:      \(f(handoffNanoseconds)) ns (half a ping-pong round trip)")

// MARK: balanced synthetic stages

/// Work units per microsecond of `burn` (its result is checked, so the call cannot be dropped).
func calibrate() -> Double {
  let units = 2_000_000
  let start = DispatchTime.now().uptimeNanoseconds
  let x = burn(units)
  let elapsed = seconds(since: start)
  precondition(x.isFinite, "burn diverged")
  return Double(units) / (elapsed * 1e6)
}
let unitsPerMicrosecond = (0..<3).map { _ in calibrate() }.max()!
let syntheticEnvs = 64, syntheticSteps = 10, microsecondsPerEnv = 50.0
let units = Int(unitsPerMicrosecond * microsecondsPerEnv)
print("  calibration: \(f(unitsPerMicrosecond, 1)) work units per microsecond")

/// Env steps per second of one mode, best of `repeats` windows after a warm-up window.
func measure(_ rollout: StagedRollout, _ work: () -> any RolloutStageWork, envSteps: Int, repeats: Int) throws -> Double {
  try rollout.run(work())
  var best = 0.0
  for _ in 0..<repeats {
    let w = work()
    let start = DispatchTime.now().uptimeNanoseconds
    try rollout.run(w)
    best = max(best, Double(envSteps) / seconds(since: start))
  }
  return best
}

print("\nbalanced synthetic stages: \(syntheticEnvs) envs x \(syntheticSteps) steps, \(f(microsecondsPerEnv)) us of serial work per env per stage ...")
var synthetic = TrainingConfig()
synthetic.env.train.totalNumEnvs = syntheticEnvs
let syntheticSteps64 = syntheticEnvs * syntheticSteps
let stageAlone = Double(syntheticEnvs * syntheticSteps) * microsecondsPerEnv / 1e6  // seconds per window, each stage
var syntheticRates: [(String, Double)] = []
for (label, mode, s) in [("collocated, S=1", PlacementMode.collocated, 1), ("disaggregated", .disaggregated, 1), ("hybrid, S=2", .hybrid, 2), ("hybrid, S=4", .hybrid, 4)] {
  let rollout = try StagedRollout(placement: Placement(config: placed(synthetic, mode, subBatches: s, threads: 1)))
  let rate = try measure(rollout, {
    SyntheticStages(envs: syntheticEnvs, subBatches: s, steps: syntheticSteps, envUnits: units, rolloutUnits: units)
  }, envSteps: syntheticSteps64, repeats: 5)
  syntheticRates.append((label, rate))
  rollout.shutdown()
}
let syntheticBase = syntheticRates[0].1
let syntheticIdeal = (stageAlone + stageAlone) / max(stageAlone, stageAlone)
let widths = [22, 14, 14, 16, 18]
print(row(["mode", "env steps/s", "vs collocated", "ideal bound", "ring per step"], widths: widths))
for (label, rate) in syntheticRates {
  let s = label.contains("S=4") ? 4 : label.contains("S=2") ? 2 : 1
  let stepSeconds = Double(syntheticEnvs) / rate
  let ring = Double(2 * s) * handoffNanoseconds / 1e9 / stepSeconds * 100
  print(row([label, f(rate), f(rate / syntheticBase, 2) + "x", label.hasPrefix("hybrid") ? f(syntheticIdeal, 2) + "x" : "-",
             label.hasPrefix("collocated") ? "-" : f(ring, 3) + "%"], widths: widths))
}
print("each stage alone: \(f(stageAlone * 1000, 1)) ms per window (ideal pipelined bound = sum / max = \(f(syntheticIdeal, 2))x)")

// MARK: the embedded simulator with the tiny OFT policy

var embedded = try TrainingConfig.load(path: configPath)
embedded.env.train.totalNumEnvs = 32
embedded.env.train.maxStepsPerRolloutEpoch = 8 * embedded.actor.model.numActionChunks
embedded.actor.globalBatchSize = 32
embedded.actor.microBatchSize = 32
let envSteps = embedded.env.train.totalNumEnvs * embedded.env.train.maxStepsPerRolloutEpoch
print("\nembedded simulator + tiny OFT policy (\(configPath): \(embedded.env.train.totalNumEnvs) envs x \(embedded.env.train.maxStepsPerRolloutEpoch) steps) ...")
/// Rollout env steps/s of a placed config: the best of 3 windows after a warm-up.
func embeddedRate(_ config: TrainingConfig) throws -> (Double, StageTimes) {
  let job = try RLRun(config: config)
  let policy = job.weightSync.rolloutPolicy, sampling = job.trainer.trainSampling
  let buffer = job.collector.buffer
  _ = try job.collector.collect(into: buffer, policy: policy, sampling: sampling)  // warm-up
  var best = 0.0
  var times = StageTimes()
  for _ in 0..<3 {
    let start = DispatchTime.now().uptimeNanoseconds
    _ = try job.collector.collect(into: buffer, policy: policy, sampling: sampling)
    let rate = Double(envSteps) / seconds(since: start)
    if rate > best { (best, times) = (rate, job.collector.stages.lastTimes) }
  }
  return (best, times)
}
var embeddedRows: [(String, Double, StageTimes)] = []
for (label, mode, s, threads) in [
  ("collocated, S=1", PlacementMode.collocated, 1, 2), ("collocated, S=2", .collocated, 2, 2), ("collocated 1 thread", .collocated, 2, 1),
  ("disaggregated", .disaggregated, 1, 1), ("hybrid, S=2", .hybrid, 2, 1), ("hybrid, S=4", .hybrid, 4, 1),
] {
  let (rate, times) = try embeddedRate(placed(embedded, mode, subBatches: s, threads: threads))
  embeddedRows.append((label, rate, times))
}
let embeddedBase = embeddedRows[0].1
// Each stage alone on one core: the collocated run with one thread per stage runs them one
// after the other, timing each.
let alone = embeddedRows[2].2
let embeddedIdeal = (alone.envSeconds + alone.rolloutSeconds) / max(alone.envSeconds, alone.rolloutSeconds)
print(row(["mode", "env steps/s", "vs collocated", "ideal bound", "ring per step"], widths: widths))
for (label, rate, _) in embeddedRows {
  let s = label.contains("S=4") ? 4 : label.contains("S=2") || label.contains("1 thread") ? 2 : 1
  let stepSeconds = Double(embedded.env.train.totalNumEnvs) / rate
  let ring = Double(2 * s) * handoffNanoseconds / 1e9 / stepSeconds * 100
  let staged = label.hasPrefix("hybrid") || label.hasPrefix("disaggregated")
  print(row([label, f(rate, 1), f(rate / embeddedBase, 2) + "x", label.hasPrefix("hybrid") ? f(embeddedIdeal, 2) + "x" : "-",
             staged ? f(ring, 3) + "%" : "-"], widths: widths))
}
print("each stage alone on one core: env \(f(alone.envSeconds * 1000)) ms, rollout \(f(alone.rolloutSeconds * 1000)) ms per window"
  + " (ideal pipelined bound over one-core stages = \(f(embeddedIdeal, 2))x; hybrid vs one-core collocated: "
  + "\(f(embeddedRows[4].1 / embeddedRows[2].1, 2))x)")

// MARK: the automatic placement beside the best manual one

var automatic = embedded
automatic.cluster.placementMode = .auto
automatic.cluster.components = [:]
print("\nautomatic placement (cluster.placement_mode: auto) on the same configuration ...")
let choice = try AutoPlacement.choose(automatic) { print("  " + $0) }
let (autoRate, _) = try embeddedRate(choice.config)
let bestManual = embeddedRows.max { $0.1 < $1.1 }!
print("auto chose \(choice.chosen.label)")
print(row(["placement", "env steps/s", "vs collocated"], widths: [44, 14, 14]))
print(row(["best manual: " + bestManual.0, f(bestManual.1, 1), f(bestManual.1 / embeddedBase, 2) + "x"], widths: [44, 14, 14]))
print(row(["auto", f(autoRate, 1), f(autoRate / embeddedBase, 2) + "x"], widths: [44, 14, 14]))
print("auto: \(f(100 * autoRate / bestManual.1, 1))% of the best manual placement (goal: at least 95%)")
