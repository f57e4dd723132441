import Config
import Dispatch
import Foundation
import Models
import RL
import Staging
import Torch

/// `cluster.placement_mode: auto`: where env and rollout run, and how many sub-batches, chosen
/// from measurements on this machine. Each candidate (collocated on every core with S = 1 or 2;
/// env on the first k cores and rollout on the rest, for a few k, with S = 1, 2 or 4) collects
/// a warm-up window and `windows` timed ones of the job's own environments and policy (after
/// one discarded measurement that warms the process up); the highest env steps/s wins. With
/// CUDA devices the rollout is also tried on cuda:0. The actor runs after the rollout on every
/// core (and on cuda:0 where there is one): it has the machine to itself, nothing to split.
public enum AutoPlacement {
  /// One measured candidate.
  public struct Trial: Sendable {
    public let label: String
    /// The config with this candidate's `cluster` and `rollout.pipeline_stage_num`.
    public let config: TrainingConfig
    public let envStepsPerSecond: Double
  }

  /// The fastest candidate, every trial, and the lines that say why.
  public struct Choice: Sendable {
    public let trials: [Trial]
    public var chosen: Trial { trials.max { $0.envStepsPerSecond < $1.envStepsPerSecond }! }
    /// The chosen trial's config.
    public var config: TrainingConfig { chosen.config }
    /// e.g. "chose hybrid, S=4, env cores 0, rollout cores 1 (cpu): 288 env steps/s, 1.58x collocated".
    public var report: [String] {
      let base = trials.first { $0.config.placementMode == .collocated }?.envStepsPerSecond ?? chosen.envStepsPerSecond
      let lines = trials.map { t in
        String(format: "  %@: %.1f env steps/s (%.2fx collocated)", t.label, t.envStepsPerSecond, t.envStepsPerSecond / base)
      }
      return ["measured \(trials.count) placements (a warm-up and timed windows of this job's environments and policy each):"] + lines
        + [String(format: "chose %@: the most env steps/s; the actor trains after each rollout on %@", chosen.label, AutoPlacement.actorSummary(config))]
    }
  }

  /// The placements worth measuring on `machine`, each a valid config (candidates whose
  /// sub-batches would not divide the environments or cut GRPO groups are left out).
  public static func candidates(_ config: TrainingConfig, machine: Machine = .current()) -> [(label: String, config: TrainingConfig)] {
    let cores = machine.cpus, n = cores.count
    let rolloutDevices = ["cpu"] + (machine.cudaDevices > 0 ? ["cuda:0"] : [])
    var out: [(String, TrainingConfig)] = []
    func add(_ label: String, _ mode: PlacementMode, subBatches: Int, env: ComponentPlacement, rollout: ComponentPlacement) {
      var c = config
      c.cluster.placementMode = mode
      c.rollout.pipelineStageNum = subBatches
      c.cluster.components[.env] = env
      c.cluster.components[.rollout] = rollout
      c.cluster.components[.actor] = config.cluster.components[.actor] ?? ComponentPlacement(device: rolloutDevices.last!)
      if (try? c.validate()) != nil { out.append((label, c)) }
    }
    for device in rolloutDevices {
      for s in [1, 2] {
        add("collocated, S=\(s), every core (\(device))", .collocated, subBatches: s,
            env: ComponentPlacement(threads: n), rollout: ComponentPlacement(threads: n, device: device))
      }
      guard n >= 2 else { continue }
      // Env on the first k cores: a few splits of the machine, the extremes included.
      let splits = Set([1, n / 4, n / 2, (3 * n) / 4, n - 1].filter { (1..<n).contains($0) }).sorted()
      for k in splits {
        let envCores = Array(cores[..<k]), rolloutCores = Array(cores[k...])
        let env = ComponentPlacement(cores: envCores, threads: envCores.count)
        let rollout = ComponentPlacement(cores: rolloutCores, threads: rolloutCores.count, device: device)
        let cells = "env cores \(StageResources.describe(envCores)), rollout cores \(StageResources.describe(rolloutCores)) (\(device))"
        add("disaggregated, \(cells)", .disaggregated, subBatches: 1, env: env, rollout: rollout)
        for s in [2, 4] { add("hybrid, S=\(s), \(cells)", .hybrid, subBatches: s, env: env, rollout: rollout) }
      }
    }
    return out
  }

  /// Measures every candidate and returns the fastest. `progress` hears one line per trial.
  public static func choose(
    _ config: TrainingConfig, machine: Machine = .current(), windows: Int = 2,
    progress: (String) -> Void = { _ in }
  ) throws -> Choice {
    try config.validate()
    let candidates = Self.candidates(config, machine: machine)
    guard !candidates.isEmpty else {
      throw ConfigError("cluster.placement_mode", "auto found no valid placement for \(config.env.train.totalNumEnvs) environments on \(machine.cpus.count) core(s)")
    }
    let policy = try RLRun.makePolicy(config)
    policy.computeInBFloat16 = config.actor.model.precision.usesBFloat16(on: try Device(parsing: config.cluster.placement(of: .actor).device))
    let sampling = PolicyTrainer.trainSampling(config)
    // The rollout's copy of the weights, made once per device and shared by the trials.
    var copies: [String: VLAPolicy] = [:]
    func rolloutPolicy(_ candidate: TrainingConfig) throws -> VLAPolicy {
      let device = candidate.cluster.placement(of: .rollout).device
      if let copy = copies[device] { return copy }
      let copy = try WeightSync(actor: policy, device: try Placement(config: candidate).rollout.torchDevice).rolloutPolicy
      copy.computeInBFloat16 = policy.computeInBFloat16
      copies[device] = copy
      return copy
    }
    // The process's first windows pay once for what later ones reuse (kernels' first runs,
    // allocator growth): a discarded measurement keeps that off the first candidate.
    let first = candidates[0].config
    _ = try measure(first, policy: try rolloutPolicy(first), sampling: sampling, windows: 1)
    var trials: [Trial] = []
    for (label, candidate) in candidates {
      let rate = try measure(candidate, policy: try rolloutPolicy(candidate), sampling: sampling, windows: windows)
      progress(String(format: "auto placement: %@: %.1f env steps/s", label, rate))
      trials.append(Trial(label: label, config: candidate, envStepsPerSecond: rate))
    }
    return Choice(trials: trials)
  }

  /// Env steps/s of the best of `windows` timed windows after a warm-up one, `policy` being the
  /// rollout's copy on the candidate's device; windows are cut to at most 8 chunks of steps
  /// (the rate per step does not depend on the window's length).
  static func measure(_ config: TrainingConfig, policy: VLAPolicy, sampling: SamplingSettings, windows: Int) throws -> Double {
    var c = config
    let chunk = policy.config.numActionChunks
    c.env.train.maxStepsPerRolloutEpoch = chunk * min(8, max(1, config.env.train.maxStepsPerRolloutEpoch / chunk))
    let collector = try RolloutCollector(config: c, policy: policy, placement: try Placement(config: c))
    defer { collector.stages.shutdown() }
    let steps = Double(c.env.train.totalNumEnvs * c.env.train.maxStepsPerRolloutEpoch)
    _ = try collector.collect(into: collector.buffer, policy: policy, sampling: sampling)
    var best = 0.0
    for _ in 0..<max(1, windows) {
      let start = DispatchTime.now().uptimeNanoseconds
      _ = try collector.collect(into: collector.buffer, policy: policy, sampling: sampling)
      best = max(best, steps / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
    }
    return best
  }

  static func actorSummary(_ config: TrainingConfig) -> String {
    let actor = config.cluster.placement(of: .actor)
    return (actor.cores.map { "cores " + StageResources.describe($0) } ?? "every core") + " (\(actor.device))"
  }
}
