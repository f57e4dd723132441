import Config
import Foundation
import Pipeline
import Testing
import TestSupport
import Torch

/// A data-parallel RL job of two ranks (threads of this process, each with its own process
/// group over Gloo on loopback), on the embedded simulator.
@Suite(.serialized) struct RLRunRanksTests {
  static func config(directory: String, port: Int) -> TrainingConfig {
    var c = RLRunTests.config(.gae, directory: directory)
    c.runner.maxEpochs = 1
    c.runner.valCheckInterval = 1
    c.cluster.worldSize = 2
    c.cluster.masterPort = port
    c.cluster.collectiveTimeout = 120
    return c
  }

  /// Runs `config` as ranks 0 and 1; returns each rank's weights (flattened) and last metrics.
  static func runRanks(_ config: TrainingConfig, resume: Bool = false) throws -> [(weights: [Float], metrics: [String: Double])] {
    try config.validate()
    return try onRankThreads(2) { rank in
      var c = config
      c.cluster.rank = rank
      let job = try RLRun(config: c, resume: resume)
      var last: [String: Double] = [:]
      try job.run { _, m in last = m }
      return (try job.policy.parameters.flatMap { try $0.floats() }, last)
    }
  }

  /// Both ranks end an iteration with the same weights, trained away from the start; rank 0
  /// alone writes one record with the whole job's environment steps, the evaluation and a
  /// checkpoint that holds both ranks' generators; the job resumes with two ranks and refuses
  /// to resume with one.
  @Test func twoRanksTrainOneJob() throws {
    let dir = try temporaryDirectory("rl-ranks")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let config = Self.config(directory: dir, port: try unusedLocalPort())
    var single = config
    single.cluster.worldSize = 1
    let start = try RLRun(config: single).policy.parameters.flatMap { try $0.floats() }  // rank 0's fresh policy

    let ranks = try Self.runRanks(config)
    #expect(ranks[0].weights == ranks[1].weights)
    #expect(ranks[0].weights != start)
    let m = ranks[0].metrics
    #expect(m["runner/ranks"] == 2)
    #expect(m["runner/environment_steps"] == Double(4 * 8), "both ranks: 2 envs x 8 steps each")
    #expect(m["eval/success_once"] != nil && ranks[1].metrics["eval/success_once"] == nil, "rank 0 records the evaluation")
    let lines = try String(contentsOfFile: dir + "/gae/metrics.jsonl", encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 1)

    let checkpoint = dir + "/gae/checkpoints/global_step_1"
    let rng = try SafeTensorsFile(path: checkpoint + "/rng.safetensors")
    #expect(Set(rng.names) == ["rank.0.sub_batch.0", "rank.1.sub_batch.0"])
    let state = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: checkpoint + "/run_state.json"))) as! [String: Any]
    #expect(state["worldSize"] as? Int == 2)

    #expect {
      _ = try RLRun(config: single, resume: true)
    } throws: { "\($0)".contains("written by a job of 2 rank(s) and this one has 1") }
    var more = config
    more.runner.maxEpochs = 2
    more.cluster.masterPort = try unusedLocalPort()
    let resumed = try Self.runRanks(more, resume: true)
    #expect(resumed[0].weights == resumed[1].weights && resumed[0].weights != ranks[0].weights)
    #expect(resumed[0].metrics["runner/environment_steps"] == Double(2 * 4 * 8))
  }

  /// `cluster.backend` picks what carries CUDA tensors: auto is Gloo for an actor on the CPU
  /// (and for one on CUDA where libtorch lacks NCCL), gloo is Gloo, and nccl without an NCCL
  /// libtorch is refused with an error that names the key.
  @Test func theBackendFollowsTheActorsDeviceAndLibtorch() throws {
    var c = ClusterConfig()
    #expect(try Rendezvous(cluster: c).backend == .gloo)
    c.components[.actor] = ComponentPlacement(device: "cuda:0")
    #expect(try Rendezvous(cluster: c).backend == (CollectiveBackend.ncclAvailable ? .nccl : .gloo))
    c.backend = .gloo
    #expect(try Rendezvous(cluster: c).backend == .gloo)
    c.backend = .nccl
    if CollectiveBackend.ncclAvailable {
      #expect(try Rendezvous(cluster: c).backend == .nccl)
    } else {
      #expect { _ = try Rendezvous(cluster: c) } throws: { "\($0)".hasPrefix("cluster.backend: nccl needs a libtorch built with NCCL") }
    }
  }

  /// Each rank's share must hold whole GRPO groups and sub-batches; the batch must split.
  @Test func ranksNeverCutGroups() throws {
    var c = RLRunTests.config(.grpo, directory: "/tmp/unused")
    c.cluster.worldSize = 2
    c.algorithm.groupSize = 4
    #expect { try c.validate() } throws: { "\($0)".contains("cluster.world_size") && "\($0)".contains("cut GRPO groups") }
    c.algorithm.groupSize = 2
    try c.validate()
    c.cluster.worldSize = 3
    #expect { try c.validate() } throws: { "\($0)".contains("total_num_envs 4 does not split over 3 ranks") }
    c.cluster.worldSize = 2
    c.cluster.rank = 2
    #expect { try c.validate() } throws: { "\($0)".contains("cluster.rank") }
  }
}
