import Config
import Foundation
import Models
import Pipeline
import RL
import Staging
import Testing
import TestSupport
import Torch

/// The RL job with its policy placed on a GPU: training, the rollout copy, checkpoints and resume.
/// Runs only where the linked libtorch sees a CUDA device (tools/device-check runs it there);
/// skipped elsewhere.
@Suite(.serialized, .enabled(if: TorchRuntime.cudaAvailable, "needs a CUDA device")) struct RLRunCUDATests {
  /// Both on the GPU, and training on the CPU with GPU inference (weights cross at every sync).
  @Test(arguments: [("cuda:0", "cuda:0"), ("cpu", "cuda:0")])
  func jobTrainsWithItsPolicyOnTheGPUAndResumes(actor: String, rollout: String) throws {
    let dir = try temporaryDirectory("rl-cuda")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var config = RLRunTests.config(.gae, directory: dir)
    config.runner.valCheckInterval = -1
    config.cluster.components = [
      .env: ComponentPlacement(), .rollout: ComponentPlacement(device: rollout), .actor: ComponentPlacement(device: actor),
    ]
    try config.validate()

    let job = try RLRun(config: config)
    var last: [String: Double] = [:]
    try job.run { _, metrics in last = metrics }
    #expect(job.policy.device == (try Device(parsing: actor)))
    #expect(job.weightSync.rolloutPolicy.device == (try Device(parsing: rollout)))
    #expect(job.weightSync.version == 2)
    #expect(job.environmentSteps == 2 * 8 * 4)
    for key in ["rollout/rewards", "train/actor/policy_loss", "train/actor/grad_norm", "train/critic/value_loss"] {
      #expect(last[key]?.isFinite == true, "\(key): \(String(describing: last[key]))")
    }

    // The checkpoint holds the trained weights, read back on the CPU.
    let saved = try VLACheckpoint.load(from: job.checkpointPath(2))
    let trained = Dictionary(uniqueKeysWithValues: job.policy.namedParameters().map { ($0.name, $0.tensor) })
    for (name, tensor) in saved.namedParameters() {
      #expect(try (trained[name]!.to(device: .cpu) - tensor).abs().max().item() == 0, "\(name) differs in the checkpoint")
    }

    // A resumed job puts the restored policy and optimizer state back on the GPU and goes on.
    config.runner.maxEpochs = 3
    let resumed = try RLRun(config: config, resume: true)
    #expect(resumed.iteration == 2 && resumed.policy.device == job.policy.device)
    let moments = try resumed.trainer.optimizer.exportState().tensors
    #expect(!moments.isEmpty && moments.values.allSatisfy { $0.device == job.policy.device })
    try resumed.run { _, metrics in last = metrics }
    #expect(resumed.iteration == 3 && last["train/actor/policy_loss"]?.isFinite == true)
  }
}
