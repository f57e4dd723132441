import Config
import Torch

/// The resources one stage runs on, checked against the machine.
public struct StageResources: Sendable, Equatable {
  public let component: Component
  /// CPUs its threads are pinned to.
  public let cores: [Int]
  /// Intra-op (libtorch) or simulator worker threads.
  public let threads: Int
  /// "cpu", "cuda:N" (rollout, actor) or "vulkan:N" (env renderer).
  public let device: String
  /// The NUMA node its memory is bound to; nil where the machine has no NUMA calls.
  public let numaNode: Int?

  public init(component: Component, cores: [Int], threads: Int, device: String, numaNode: Int?) {
    self.component = component
    self.cores = cores
    self.threads = threads
    self.device = device
    self.numaNode = numaNode
  }

  /// The libtorch device of the rollout and actor stages.
  public var torchDevice: Device {
    if let n = TrainingConfig.deviceIndex(device, prefix: "cuda:") { return .cuda(n) }
    return .cpu
  }

  /// e.g. "cores 0-1, 2 threads, cpu, NUMA node 0".
  public var summary: String {
    "cores \(Self.describe(cores)), \(threads) thread\(threads == 1 ? "" : "s"), \(device)" + (numaNode.map { ", NUMA node \($0)" } ?? "")
  }

  public static func describe(_ cores: [Int]) -> String {
    guard let first = cores.first, let last = cores.last else { return "none" }
    return cores == Array(first...last) && cores.count > 1 ? "\(first)-\(last)" : cores.map(String.init).joined(separator: ",")
  }
}

/// Where env, rollout and actor run, and how they are scheduled: a config's `cluster` section
/// resolved against the machine. Errors name the config key.
public struct Placement: Sendable {
  public let mode: PlacementMode
  /// Env sub-batches (`rollout.pipeline_stage_num`).
  public let subBatches: Int
  public let env: StageResources
  public let rollout: StageResources
  public let actor: StageResources

  public init(config: TrainingConfig, machine: Machine = .current()) throws {
    mode = config.placementMode
    guard mode != .auto else {
      throw ConfigError("cluster.placement_mode", "auto is chosen by measurement before the stages are placed (AutoPlacement)")
    }
    subBatches = config.rollout.pipelineStageNum
    env = try Self.resolve(.env, config.cluster.placement(of: .env), defaultThreads: config.env.train.numThreads, machine: machine)
    rollout = try Self.resolve(.rollout, config.cluster.placement(of: .rollout), defaultThreads: config.rollout.numThreads, machine: machine)
    // Training runs after the rollout on all resources unless told otherwise.
    actor = try Self.resolve(.actor, config.cluster.placement(of: .actor), defaultThreads: config.rollout.numThreads, machine: machine)
  }

  static func resolve(_ component: Component, _ p: ComponentPlacement, defaultThreads: Int, machine: Machine) throws -> StageResources {
    let key = "cluster.component_placement.\(component.rawValue)"
    let cores = p.cores ?? machine.cpus
    let unavailable = cores.filter { !machine.cpus.contains($0) }
    guard unavailable.isEmpty else {
      throw ConfigError(key + ".cores", "core(s) \(unavailable) are not available to this process (it may use \(StageResources.describe(machine.cpus)))")
    }
    let threads = p.threads ?? min(defaultThreads, cores.count)
    guard threads <= cores.count else {
      throw ConfigError(key + ".threads", "\(threads) threads on \(cores.count) core(s) (\(StageResources.describe(cores))): more threads than cores")
    }
    guard !p.device.hasSuffix(":" + TrainingConfig.localRankDeviceIndex) else {
      throw ConfigError(key + ".device", "\(p.device) is resolved per rank (TrainingConfig.rankShare) before placing")
    }
    if let n = TrainingConfig.deviceIndex(p.device, prefix: "cuda:") {
      guard n < machine.cudaDevices else {
        throw ConfigError(key + ".device", "\(p.device) requested, but \(machine.cudaDevices) CUDA device(s) are visible to the linked libtorch \(TorchRuntime.version)")
      }
    }
    var node: Int? = nil
    if machine.numaNodes > 0 {
      node = p.numaNode ?? machine.numaNode(ofCPU: cores[0])
      if let node, node >= machine.numaNodes {
        throw ConfigError(key + ".numa_node", "node \(node) does not exist (this machine has \(machine.numaNodes))")
      }
    }
    return StageResources(component: component, cores: cores, threads: threads, device: p.device, numaNode: node)
  }

  /// One line per stage, for logs and status.
  public var summary: [String] {
    ["mode \(mode.rawValue), \(subBatches) sub-batch\(subBatches == 1 ? "" : "es")"]
      + [env, rollout, actor].map { "\($0.component.rawValue): \($0.summary)" }
  }
}
