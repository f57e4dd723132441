import Dispatch
import Foundation
import Models
import Torch

/// The policy behind the server: one inference at a time on a queue of its own (libtorch's
/// intra-op threads do the parallel work), so the event loops never wait on a forward pass.
/// `replace` swaps in newer weights between requests; every reply names the version it used.
public final class PolicyEngine: @unchecked Sendable {
  /// One reply's actions, in the robot's units.
  public struct Actions: Sendable {
    /// [K, 7] row-major, un-normalised with the checkpoint's action statistics.
    public let values: [Float]
    public let chunk: Int
    /// Counts the weights served: 1 for the first, + 1 per `replace`.
    public let version: Int
    /// The training step the weights come from.
    public let trainingStep: Int
    /// The forward pass alone, in seconds.
    public let inferSeconds: Double
  }

  private let queue = DispatchQueue(label: "rlinf-serve.inference")
  // Guarded by `queue`.
  private var policy: VLAPolicy
  private var version = 1
  private var trainingStep: Int
  public let imageSize: Int
  public let stateDim: Int
  public let chunk: Int
  public let modelType: String

  public init(policy: VLAPolicy, trainingStep: Int) {
    self.policy = policy
    self.trainingStep = trainingStep
    imageSize = policy.config.imageSize
    stateDim = policy.config.proprioDim
    chunk = policy.config.numActionChunks
    modelType = policy.config.head.rawValue
  }

  /// Serves `newer` from the next request on; it must take the same inputs.
  public func replace(with newer: VLAPolicy, trainingStep step: Int) throws {
    guard newer.config.imageSize == imageSize, newer.config.proprioDim == stateDim, newer.config.numActionChunks == chunk else {
      throw BadRequest("the new weights take other inputs or emit other chunks than the served policy")
    }
    queue.sync {
      policy = newer
      version += 1
      trainingStep = step
    }
  }

  /// Changes the served policy's weights in place (e.g. a weight sync from the actor), between
  /// requests, and counts a new version.
  public func update(trainingStep step: Int, _ change: (VLAPolicy) throws -> Void) throws {
    try queue.sync {
      try change(policy)
      version += 1
      trainingStep = step
    }
  }

  /// The version and training step now served.
  public var served: (version: Int, trainingStep: Int) { queue.sync { (version, trainingStep) } }

  /// Greedy actions for one observation.
  public func act(_ observation: PolicyObservation) async throws -> Actions {
    try await withCheckedThrowingContinuation { continuation in
      queue.async {
        continuation.resume(with: Result { try self.actNow(observation) })
      }
    }
  }

  /// On `queue`.
  private func actNow(_ observation: PolicyObservation) throws -> Actions {
    let start = DispatchTime.now().uptimeNanoseconds
    let images = try Tensor(observation.image, shape: [1, imageSize, imageSize, 3])  // [1, S, S, 3] uint8
    let state = try observation.state.map { try Tensor($0, shape: [1, stateDim]) }  // [1, D]
    let out = try policy.act(images: images, instructions: [observation.prompt], state: state, sampling: SamplingSettings(greedy: true))
    let normalized = try out.actions.doubles()  // [1, K, 7] in [-1, 1]
    let statistics = policy.config.actionStatistics
    var values: [Float] = []
    values.reserveCapacity(normalized.count)
    for k in 0..<chunk {
      values += statistics.unnormalize(Array(normalized[(k * 7)..<((k + 1) * 7)])).map(Float.init)
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return Actions(values: values, chunk: chunk, version: version, trainingStep: trainingStep, inferSeconds: seconds)
  }
}
