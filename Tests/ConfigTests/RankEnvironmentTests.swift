import Config
import Testing

/// torchrun's variables and the `cluster` keys that name the ranks of a job.
@Suite struct RankEnvironmentTests {
  @Test func torchrunVariablesOverrideTheClusterKeys() throws {
    var c = TrainingConfig()
    c.cluster.worldSize = 4
    c.cluster.masterPort = 1234
    let ranked = try c.applyingRankEnvironment(["RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "10.0.0.7", "MASTER_PORT": "29600", "LOCAL_RANK": "1"])
    #expect(ranked.cluster.rank == 1 && ranked.cluster.worldSize == 2)
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
}
