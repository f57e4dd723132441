import Foundation

/// `cluster.*`: where the three components run, close to RLinf's `cluster.component_placement`.
///
/// ```yaml
/// cluster:
///   placement_mode: hybrid          # optional: derived from the placement when absent;
///                                   # auto: measured and chosen at the start (env, rollout unset)
///   component_placement:
///     env: "0"                      # short form: the cores ("all", "0-3", "0,2")
///     rollout: {cores: "1", threads: 1, device: cpu}
///     actor: all
/// ```
/// Several components may share one entry, as in RLinf: `actor,env,rollout: all`.
public struct ClusterConfig: Sendable {
  /// nil: collocated when env and rollout share cores, else hybrid with pipeline_stage_num > 1,
  /// else disaggregated.
  public var placementMode: PlacementMode?
  /// Placement per component; a component without an entry runs on all cores.
  public var components: [Component: ComponentPlacement] = [:]
  /// Data-parallel ranks of the job (torch.distributed): processes that each run env, rollout
  /// and actor on their share of `env.train.total_num_envs` and average their gradients.
  /// `RANK`, `WORLD_SIZE`, `MASTER_ADDR` and `MASTER_PORT` (what torchrun sets) override these.
  public var worldSize = 1
  public var rank = 0
  /// This rank's index on its machine (`LOCAL_RANK`, as torchrun sets it); nil: `rank` (one
  /// machine). A device written `cuda:local_rank` (or `vulkan:local_rank`) becomes that index,
  /// so one config gives each rank of a multi-GPU workstation its own GPU.
  public var localRank: Int?
  /// Where rank 0 serves the rendezvous store (c10d's TCPStore).
  public var masterAddr = "127.0.0.1"
  public var masterPort = 29500
  /// Seconds a rank waits for the others at the rendezvous and in any collective before it
  /// stops with an error naming the collective.
  public var collectiveTimeout = 300.0
  /// What carries the collectives on CUDA tensors (the actor's gradients on a GPU).
  public var backend = DistributedBackend.auto
  public init() {}

  public func placement(of component: Component) -> ComponentPlacement {
    components[component] ?? ComponentPlacement()
  }
}

/// The stages a training job runs.
public enum Component: String, Sendable, CaseIterable, Hashable {
  /// The simulator.
  case env
  /// Policy inference during rollouts.
  case rollout
  /// Training (advantages, losses, optimizer).
  case actor
}

/// torch.distributed's backend for the ranks (`cluster.backend`). CPU tensors always go through
/// Gloo; NCCL carries CUDA tensors (torch's "cpu:gloo,cuda:nccl").
public enum DistributedBackend: String, Sendable, CaseIterable {
  /// NCCL when the actor is on a CUDA device and the linked libtorch has NCCL, else Gloo.
  case auto
  case gloo
  /// Needs a libtorch built with NCCL (PyTorch's CUDA builds).
  case nccl
}

/// How the stages share the machine (`cluster.placement_mode`).
public enum PlacementMode: String, Sendable, CaseIterable {
  /// All stages on the same cores, one after another: the baseline.
  case collocated
  /// Env and rollout on disjoint cores, handing whole batches to each other.
  case disaggregated
  /// Env and rollout on disjoint cores, the batch split into `rollout.pipeline_stage_num`
  /// sub-batches: sub-batch s is simulated while sub-batch s + 1 is inferred.
  case hybrid
  /// Chosen by measurement when the run starts (`AutoPlacement`): each candidate placement
  /// collects a few windows and the fastest is kept. Never the mode of a resolved `Placement`.
  case auto
}

/// The resources of one component.
public struct ComponentPlacement: Sendable, Equatable {
  /// CPU cores the component's threads are pinned to (nil: every core the process may use).
  public var cores: [Int]?
  /// Worker threads (libtorch intra-op threads, or simulator threads); nil: the component's own
  /// setting (`rollout.num_threads`, `env.train.num_threads`).
  public var threads: Int?
  /// Where its tensors live: "cpu", "cuda:N"; for env, the renderer's "cpu" or "vulkan:N".
  public var device = "cpu"
  /// NUMA node its memory is bound to (nil: the node of its first core, where NUMA exists).
  public var numaNode: Int?
  public init(cores: [Int]? = nil, threads: Int? = nil, device: String = "cpu", numaNode: Int? = nil) {
    self.cores = cores
    self.threads = threads
    self.device = device
    self.numaNode = numaNode
  }

  /// Parses a core list: "all", "3", "0-3", "0,2,5-7".
  public static func parseCores(_ text: String) -> [Int]?? {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    if trimmed == "all" { return .some(nil) }
    var cores: [Int] = []
    for part in trimmed.split(separator: ",") {
      let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
      switch bounds.count {
      case 1:
        guard let c = bounds[0], c >= 0 else { return nil }
        cores.append(c)
      case 2:
        guard let lo = bounds[0], let hi = bounds[1], lo >= 0, lo <= hi else { return nil }
        cores += Array(lo...hi)
      default: return nil
      }
    }
    guard !cores.isEmpty, Set(cores).count == cores.count else { return nil }
    return .some(cores.sorted())
  }
}

extension TrainingConfig {
  /// The config with torchrun's variables applied: `RANK`, `WORLD_SIZE`, `MASTER_ADDR`,
  /// `MASTER_PORT` replace the `cluster` keys they name (a variable that is not a number is an
  /// error naming it).
  public func applyingRankEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> TrainingConfig {
    var c = self
    func number(_ name: String) throws -> Int? {
      guard let text = environment[name], !text.isEmpty else { return nil }
      guard let n = Int(text) else { throw ConfigError("cluster", "the environment variable \(name)=\(text) is not a number") }
      return n
    }
    if let n = try number("WORLD_SIZE") { c.cluster.worldSize = n }
    if let n = try number("RANK") { c.cluster.rank = n }
    if let n = try number("LOCAL_RANK") { c.cluster.localRank = n }
    if let n = try number("MASTER_PORT") { c.cluster.masterPort = n }
    if let addr = environment["MASTER_ADDR"], !addr.isEmpty { c.cluster.masterAddr = addr }
    return c
  }

  /// What one rank of a data-parallel job runs: its 1/world_size share of the training
  /// environments, seeded apart from the other ranks' (resets, sampling, shuffles), and the
  /// same everything else (global_batch_size stays the whole job's: the
  /// update splits it). The whole job's config is the one to validate.
  public var rankShare: TrainingConfig {
    var c = resolvingLocalRankDevices
    guard cluster.worldSize > 1 else { return c }
    c.env.train.totalNumEnvs /= cluster.worldSize
    c.env.train.seed += 100_003 * cluster.rank
    // Sampling and shuffles; the policy's initial weights come from rank 0 whatever the seed.
    c.actor.seed += 100_003 * cluster.rank
    return c
  }
}

extension TrainingConfig {
  /// The device spelling that stands for this rank's own device index.
  public static let localRankDeviceIndex = "local_rank"

  /// The config with `cuda:local_rank` / `vulkan:local_rank` devices naming this rank's index.
  public var resolvingLocalRankDevices: TrainingConfig {
    var c = self
    let index = cluster.localRank ?? cluster.rank
    for (component, p) in c.cluster.components where p.device.hasSuffix(":" + Self.localRankDeviceIndex) {
      var q = p
      q.device = String(p.device.dropLast(Self.localRankDeviceIndex.count)) + "\(index)"
      c.cluster.components[component] = q
    }
    return c
  }
}
