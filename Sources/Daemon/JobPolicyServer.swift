import Config
import Control
import Dispatch
import Foundation
import Models
import Pipeline
import Serve

/// The job's policy served to robots while it trains (`serve.enabled`), over openpi's protocol:
/// a copy of the rollout weights of its own, so serving never races training. With
/// `serve.weights: rollout` the copy follows each iteration's update; with `checkpoint` it
/// becomes each checkpoint as the writer completes it. Every reply names the version and step.
final class JobPolicyServer: @unchecked Sendable {
  let server: PolicyServer
  let weights: ServedWeights
  private let engine: PolicyEngine
  /// The actor -> serving-copy sync (rollout mode).
  private let sync: WeightSync
  private let bfloat16: Bool
  private let serving: Task<Void, Error>

  /// Binds the server and starts serving the run's current weights (job thread).
  init(run: RLRun, config: TrainingConfig) throws {
    sync = try WeightSync(actor: run.policy, device: .cpu)
    bfloat16 = run.policy.computeInBFloat16
    sync.rolloutPolicy.computeInBFloat16 = bfloat16
    weights = config.serve.weights
    let engine = PolicyEngine(policy: sync.rolloutPolicy, trainingStep: run.iteration)
    let settings = PolicyServerConfig(config.serve, useWristImage: config.env.eval.useWristImage)
    self.engine = engine
    let server = try Self.blocking { try await PolicyServer(engine: engine, config: settings) }
    self.server = server
    serving = Task.detached { try await server.run() }
  }

  var address: String { "ws://\(server.config.host):\(server.port)" }

  /// After an iteration (job thread, the actor idle): the serving copy takes the new weights.
  func afterIteration(_ run: RLRun) throws {
    guard weights == .rollout else { return }
    let (sync, actor) = (self.sync, run.policy)
    try engine.update(trainingStep: run.iteration) { _ in try sync.publish(from: actor) }
  }

  /// A checkpoint completed (writer thread): in checkpoint mode it is served from now on.
  func checkpointWritten(path: String, step: Int) throws {
    guard weights == .checkpoint else { return }
    let policy = try VLACheckpoint.load(from: path)
    policy.computeInBFloat16 = bfloat16
    try engine.replace(with: policy, trainingStep: step)
  }

  /// How long `stop()` waits for the server to close.
  static let closeTimeoutSeconds = 30.0

  /// Stops accepting clients and closes the server; false when it did not close within
  /// `closeTimeoutSeconds` (the daemon then goes on to exit rather than hang on it).
  func stop() -> Bool {
    let server = self.server, done = DispatchSemaphore(value: 0)
    Task.detached {
      await server.shutdown()
      done.signal()
    }
    serving.cancel()
    return done.wait(timeout: .now() + Self.closeTimeoutSeconds) == .success
  }

  /// For `rlinfctl status`.
  func status() -> JSONValue {
    let served = engine.served, stats = server.stats.snapshot
    return .object([
      "address": .string(address), "weights": .string(weights.rawValue),
      "policy_version": .number(Double(served.version)), "training_step": .number(Double(served.trainingStep)),
      "clients": .number(Double(stats.clients)), "requests": .number(Double(stats.requests)), "refusals": .number(Double(stats.refusals)),
      "latency_p50_ms": stats.p50Milliseconds.map(JSONValue.number) ?? .null,
      "latency_p99_ms": stats.p99Milliseconds.map(JSONValue.number) ?? .null,
      "client_list": .array(stats.perClient.map { c in
        .object([
          "address": .string(c.address), "requests": .number(Double(c.requests)),
          "latency_p50_ms": c.p50Milliseconds.map(JSONValue.number) ?? .null,
          "latency_p99_ms": c.p99Milliseconds.map(JSONValue.number) ?? .null,
        ])
      }),
    ])
  }

  /// Runs async work to its end from a thread that is not part of Swift's concurrency pool.
  private static func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<T, Error>?
    Task.detached {
      do { result = .success(try await body()) } catch { result = .failure(error) }
      done.signal()
    }
    done.wait()
    return try result!.get()
  }
}
