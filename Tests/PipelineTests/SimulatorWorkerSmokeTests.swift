import Config
import Foundation
import Pipeline
import Sim
import Testing
import TestSupport

/// ManiSkill3 and LIBERO through the worker bridge, where tools/setup-sims has made their
/// environments (`make test` does, so CI runs these): start the simulator, roll the tiny policy
/// for a few chunk steps, run one PPO update.
@Suite(.serialized) struct SimulatorWorkerSmokeTests {
  static func ready(_ simulator: String) -> Bool {
    FileManager.default.isExecutableFile(atPath: repositoryRoot + "/.venv-\(simulator)/bin/rlinf-python")
  }

  static func job(_ simulator: String, task: String, directory: String) throws -> TrainingConfig {
    var c = TrainingConfig()
    c.runner.maxEpochs = 1
    c.runner.logPath = directory
    c.runner.experimentName = simulator
    c.env.train.simulatorType = simulator
    c.env.train.tasks = [task]
    c.env.train.totalNumEnvs = 2
    c.env.train.maxStepsPerRolloutEpoch = 4
    c.env.train.worker.python = repositoryRoot + "/.venv-\(simulator)/bin/rlinf-python"
    c.env.train.worker.script = repositoryRoot + "/tools/env_worker.py"
    c.actor.model.numActionChunks = 2
    c.actor.model.useProprio = true
    c.actor.globalBatchSize = 4
    c.actor.microBatchSize = 2
    c.env.eval = c.env.train
    try c.validate()
    return c
  }

  static func runOneUpdate(_ simulator: String, task: String) throws {
    let dir = try temporaryDirectory("smoke-\(simulator)")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let job = try RLRun(config: job(simulator, task: task, directory: dir))
    let metrics = try job.step()
    #expect(job.environmentSteps == 2 * 4)
    #expect(metrics["train/actor/policy_loss"]?.isFinite == true)
    #expect(metrics["train/critic/value_loss"]?.isFinite == true)
    #expect(try job.collector.buffer.images.to(dtype: .float32).sum().item() > 0)  // rendered frames arrived
    #expect(job.collector.workerFailures.isEmpty)
  }

  @Test(.enabled(if: ready("maniskill"))) func maniSkillPickCube() throws {
    try Self.runOneUpdate("maniskill", task: "PickCube-v1")
  }

  /// ManiSkill's GPU simulation: every row of a worker in one GPU-parallel environment where the
  /// venv's PyTorch sees CUDA; elsewhere a refusal that says what is missing.
  @Test(.enabled(if: ready("maniskill"))) func maniSkillGPUBackend() throws {
    let python = repositoryRoot + "/.venv-maniskill/bin/rlinf-python"
    var spec = WorkerSpec(python: python, script: repositoryRoot + "/tools/env_worker.py", backend: "maniskill", task: "PickCube-v1", numEnvs: 4, imageSize: 64)
    spec.options = ["sim_backend": "gpu"]
    spec.maxChunk = 2
    let cuda = try runProgram(python, ["-c", "import torch; print(torch.cuda.is_available())"]).contains("True")
    guard cuda else {
      #expect(throws: SimError.self) { _ = try WorkerEnvironment(spec: spec) }
      do { _ = try WorkerEnvironment(spec: spec) } catch { #expect("\(error)".contains("sim_backend gpu needs a CUDA device")) }
      return
    }
    let env = try WorkerEnvironment(spec: spec)
    try env.reset(stateIDs: Array(0..<4))
    let actions = [Float](repeating: 0.1, count: 4 * 2 * 7)
    let result = try actions.withUnsafeBufferPointer { try env.stepChunk($0, chunk: 2) }
    #expect(result.rewards.count == 4 * 2)
    #expect(env.rgb.contains { $0 != 0 } && env.failures.isEmpty)
  }

  /// SAPIEN fetches its PhysX GPU library from GitHub on first GPU use; where that fails (an
  /// offline machine), the worker's error says which release to unzip where. Where the library is
  /// in place, the original error stands (the helper has nothing to add).
  @Test(.enabled(if: ready("maniskill"))) func missingPhysXGPULibraryIsNamed() throws {
    let home = try temporaryDirectory("sapien-home")
    defer { try? FileManager.default.removeItem(atPath: home) }
    let script = """
      import os, sys
      os.environ["HOME"] = sys.argv[1]
      sys.path.insert(0, sys.argv[2])
      import sapien.physx, env_worker
      print(env_worker.physx_gpu_library_error(ConnectionError("github.com unreachable")))
      folder = os.path.join(sys.argv[1], ".sapien", "physx", sapien.physx.version())
      os.makedirs(folder)
      open(os.path.join(folder, "libPhysXGpu_64.so"), "w").close()
      print(env_worker.physx_gpu_library_error(ConnectionError("another failure")))
      """
    let python = repositoryRoot + "/.venv-maniskill/bin/rlinf-python"
    let lines = try runProgram(python, ["-c", script, home, repositoryRoot + "/tools"]).split(separator: "\n").map(String.init)
    let version = try runProgram(python, ["-c", "import sapien.physx; print(sapien.physx.version())"]).trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(lines.count == 2)
    #expect(lines.first?.contains("not in \(home)/.sapien/physx/\(version)") == true)
    #expect(lines.first?.contains("github.com unreachable") == true && lines.first?.contains("release \(version)") == true)
    #expect(lines.last == "None")
  }

  @Test(.enabled(if: ready("libero"))) func liberoSpatial() throws {
    try Self.runOneUpdate("libero", task: "libero_spatial/0")
  }
}
