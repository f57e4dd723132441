import Config
import Testing

/// torchrun's variables and the `cluster` keys that name the ranks of a job.
@Suite struct RankEnvironmentTests {
  @Test func torchrunVariablesOverrideTheClusterKeys() throws {
    var c = TrainingConfig()
    c.cluster.worldSize = 4
    c.cluster.masterPort = 1234
    let ranked = try c.applyingRankEnvironment(["RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "10.0.0.7", "MASTER_PORT": "29600", "LOCAL_RANK": "1"])
    #expect(ranked.cluster.rank == 1 && ranked.cluster.worldSize == 2 && ranked.cluster.localRank == 1)
    #expect(ranked.cluster.masterAddr == "10.0.0.7" && ranked.cluster.masterPort == 29600)
    let untouched = try c.applyingRankEnvironment([:])
    #expect(untouched.cluster.worldSize == 4 && untouched.cluster.rank == 0 && untouched.cluster.masterPort == 1234)
    #expect { try c.applyingRankEnvironment(["RANK": "one"]) } throws: { "\($0)".contains("RANK=one is not a number") }
  }

  /// A rank runs its share of the environments, seeded apart from the others'.
  @Test func aRankSharesOutTheEnvironments() throws {
    var c = TrainingConfig()
    c.env.train.totalNumEnvs = 64
    c.cluster.worldSize = 4
    c.cluster.rank = 3
    let share = c.rankShare
    #expect(share.env.train.totalNumEnvs == 16)
    #expect(share.env.train.seed != c.env.train.seed && share.actor.seed != c.actor.seed)
    #expect(share.actor.globalBatchSize == c.actor.globalBatchSize, "the update splits the whole job's batch itself")
    c.cluster.rank = 0
    c.cluster.worldSize = 1
    #expect(c.rankShare.env.train.totalNumEnvs == 64 && c.rankShare.actor.seed == c.actor.seed)
  }

  /// One config for every rank of a multi-GPU workstation: `cuda:local_rank` is each rank's GPU.
  @Test func localRankDevicesNameEachRanksOwnDevice() throws {
    let yaml = """
    cluster:
      world_size: 4
      component_placement:
        env: {cores: all, device: vulkan:0}
        rollout: {cores: all, device: cuda:0}
        actor: {cores: all, device: cuda:local_rank}
    """
    let c = try TrainingConfig.parse(yaml: yaml)
    try c.validate()
    #expect(c.cluster.localRank == nil)
    for (rank, local, device) in [(0, nil, "cuda:0"), (3, nil, "cuda:3"), (5, 1 as Int?, "cuda:1")] {
      var r = c
      r.cluster.worldSize = 8
      r.cluster.rank = rank
      r.cluster.localRank = local
      let share = r.rankShare
      #expect(share.cluster.placement(of: .actor).device == device, "rank \(rank), local rank \(local.map(String.init) ?? "none")")
      #expect(share.cluster.placement(of: .rollout).device == "cuda:0" && share.cluster.placement(of: .env).device == "vulkan:0")
    }
    let fromTorchrun = try c.applyingRankEnvironment(["RANK": "6", "WORLD_SIZE": "8", "LOCAL_RANK": "2"])
    #expect(fromTorchrun.rankShare.cluster.placement(of: .actor).device == "cuda:2")
    var wrong = c
    wrong.cluster.components[.actor]?.device = "cuda:localrank"
    #expect { try wrong.validate() } throws: { "\($0)".contains("cluster.component_placement.actor.device") }
  }
}
