/// What a Python simulator worker runs: which interpreter and script, which benchmark backend
/// and task, how many environments, image size, cameras, and how long it may take to answer.
public struct WorkerSpec: Sendable {
  /// The interpreter, usually a venv's python (tools/setup-sims makes them).
  public var python: String
  /// The worker script (tools/env_worker.py).
  public var script: String
  /// "maniskill", "libero" or "gym" (gymnasium's classic control, for the bridge's own tests).
  public var backend: String
  /// The backend's task id (e.g. PickCube-v1, libero_spatial/0, CartPole-v1).
  public var task: String
  public var numEnvs: Int
  public var imageSize: Int
  public var wristCamera = false
  /// Largest chunk a step request carries.
  public var maxChunk = 1
  /// Preallocated observation slots in the shared-memory ring (at least 2).
  public var observationSlots = 2
  public var seed: UInt64 = 0
  /// Backend options, passed through as strings (sim_backend, reward_mode, shadows, ...).
  public var options: [String: String] = [:]
  /// Extra environment variables for the worker (VK_ICD_FILENAMES, MUJOCO_GL, ...).
  public var environment: [String: String] = [:]
  /// Seconds the worker may take to start (imports, scene loading) and to answer a request.
  public var startTimeout = 300.0
  public var requestTimeout = 120.0

  public init(python: String, script: String, backend: String, task: String, numEnvs: Int, imageSize: Int) {
    self.python = python
    self.script = script
    self.backend = backend
    self.task = task
    self.numEnvs = numEnvs
    self.imageSize = imageSize
  }
}
