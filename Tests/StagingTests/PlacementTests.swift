import Config
import Staging
import Torch
import Testing

/// Resolving a config's placement against a machine: defaults, and errors that name the key.
@Suite struct PlacementTests {
  let machine = Machine(cpus: [0, 1, 2, 3], numaNodes: 0, cudaDevices: 0)

  func config(_ yaml: String) throws -> TrainingConfig {
    try TrainingConfig.parse(yaml: yaml)
  }

  @Test func defaultsToCollocatedOnEveryCore() throws {
    let p = try Placement(config: config(""), machine: machine)
    #expect(p.mode == .collocated)
    #expect(p.env.cores == [0, 1, 2, 3] && p.rollout.cores == [0, 1, 2, 3])
    #expect(p.rollout.threads == 2)  // rollout.num_threads
    #expect(p.subBatches == 1)
  }

  @Test func hybridOnDisjointCores() throws {
    let p = try Placement(config: config("""
      env: {train: {num_threads: 1}}
      rollout: {pipeline_stage_num: 2}
      cluster:
        component_placement:
          env: 0-1
          rollout: {cores: "2,3", threads: 2}
          actor: all
      """), machine: machine)
    #expect(p.mode == .hybrid)
    #expect(p.env.cores == [0, 1] && p.env.threads == 1)  // env.train.num_threads
    #expect(p.rollout.cores == [2, 3] && p.rollout.threads == 2)
    #expect(p.actor.cores == [0, 1, 2, 3])
    #expect(p.summary.count == 4)
  }

  @Test func machineChecksNameTheKey() throws {
    let missingCore = try config("""
      cluster: {placement_mode: disaggregated, component_placement: {env: "0", rollout: "7", actor: all}}
      """)
    #expect(throws: ConfigError("cluster.component_placement.rollout.cores", "core(s) [7] are not available to this process (it may use 0-3)")) {
      try Placement(config: missingCore, machine: machine)
    }
    let tooMany = try config("rollout: {num_threads: 8}")
    let p = try Placement(config: tooMany, machine: machine)
    #expect(p.rollout.threads == 4)  // a default is capped at the cores; an explicit count is checked
    let explicit = try config("cluster: {component_placement: {\"actor,env,rollout\": {cores: all, threads: 6}}}")
    #expect(throws: ConfigError.self) { try Placement(config: explicit, machine: machine) }
  }

  @Test func cudaDevicesMustBeVisible() throws {
    let cuda = try config("cluster: {component_placement: {env: {cores: all}, rollout: {cores: all, device: \"cuda:0\"}, actor: {cores: all, device: \"cuda:1\"}}}")
    #expect(throws: ConfigError("cluster.component_placement.rollout.device", "cuda:0 requested, but 0 CUDA device(s) are visible to the linked libtorch \(TorchRuntime.version)")) {
      try Placement(config: cuda, machine: machine)
    }
    let oneGPU = Machine(cpus: [0, 1, 2, 3], numaNodes: 0, cudaDevices: 1)
    #expect(throws: ConfigError("cluster.component_placement.actor.device", "cuda:1 requested, but 1 CUDA device(s) are visible to the linked libtorch \(TorchRuntime.version)")) {
      try Placement(config: cuda, machine: oneGPU)
    }
    let twoGPUs = Machine(cpus: [0, 1, 2, 3], numaNodes: 0, cudaDevices: 2)
    let p = try Placement(config: cuda, machine: twoGPUs)
    #expect(p.rollout.torchDevice == .cuda(0))
    #expect(p.actor.torchDevice == .cuda(1))
    #expect(p.env.torchDevice == .cpu)
  }

  @Test func numaNodesAreChecked() throws {
    let numa = Machine(cpus: [0, 1], numaNodes: 1, cudaDevices: 0)
    let bad = try config("cluster: {component_placement: {\"actor,env,rollout\": {cores: all, numa_node: 3}}}")
    #expect(throws: ConfigError.self) { try Placement(config: bad, machine: numa) }
  }
}
