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
    /// The forward pass alone, in seconds (of the batch it was part of).
    public let inferSeconds: Double
    /// Requests answered by that forward.
    public let batch: Int
  }

  private typealias Request = (observation: PolicyObservation, continuation: CheckedContinuation<Actions, Error>)
  /// Requests waiting for the next forward, and whether a drain is scheduled or running.
  private let pendingLock = NSLock()
  private var pending: [Request] = []
  private var draining = false
  /// The most requests one forward answers.
  public let maxBatch: Int

  private let queue: SerialThread
  // Used on `queue` only.
  private var policy: VLAPolicy
  private var version = 1
  private var trainingStep: Int
  public let imageSize: Int
  public let stateDim: Int
  public let chunk: Int
  public let modelType: String

  /// `torchThreads`: libtorch intra-op threads of the forwards (nil: every core).
  public init(policy: VLAPolicy, trainingStep: Int, maxBatch: Int = 8, torchThreads: Int? = nil) {
    queue = SerialThread(name: "rlinf-serve-inference", torchThreads: torchThreads ?? ProcessInfo.processInfo.activeProcessorCount)
    self.policy = policy
    self.maxBatch = max(1, maxBatch)
    self.trainingStep = trainingStep
    imageSize = policy.config.imageSize
    stateDim = policy.config.proprioDim
    chunk = policy.config.numActionChunks
    modelType = policy.config.head.rawValue
    servedNow = (1, trainingStep)
  }

  /// Serves `newer` from the next request on; it must take the same inputs.
  public func replace(with newer: VLAPolicy, trainingStep step: Int) throws {
    guard newer.config.imageSize == imageSize, newer.config.proprioDim == stateDim, newer.config.numActionChunks == chunk else {
      throw BadRequest("the new weights take other inputs or emit other chunks than the served policy")
    }
    try queue.sync { [self] in
      policy = newer
      version += 1
      trainingStep = step
      servedLock.withLock { servedNow = (version, step) }
    }
  }

  /// Changes the served policy's weights in place (e.g. a weight sync from the actor), between
  /// requests, and counts a new version.
  public func update(trainingStep step: Int, _ change: @escaping (VLAPolicy) throws -> Void) throws {
    try queue.sync { [self] in
      try change(policy)
      version += 1
      trainingStep = step
      servedLock.withLock { servedNow = (version, step) }
    }
  }

  /// The version and training step now served.
  public var served: (version: Int, trainingStep: Int) { servedLock.withLock { servedNow } }
  private let servedLock = NSLock()
  private var servedNow: (version: Int, trainingStep: Int)

  /// Greedy actions for one observation. Requests that arrive while a forward runs wait and go
  /// together in the next one (up to `maxBatch`): one batched forward costs less than its rows
  /// one by one, so concurrent robots share the policy instead of queueing behind each other.
  public func act(_ observation: PolicyObservation) async throws -> Actions {
    try await withCheckedThrowingContinuation { continuation in
      let start = pendingLock.withLock { () -> Bool in
        pending.append((observation, continuation))
        defer { draining = true }
        return !draining
      }
      if start { queue.async { self.drain() } }
    }
  }

  /// On `queue`: one batch of waiting requests, then the next batch as a new item on the
  /// queue, so a weight swap waiting there (`replace`, `update`) goes between two batches.
  private func drain() {
    let batch = pendingLock.withLock { () -> [Request] in
      let taken = Array(pending.prefix(maxBatch))
      pending.removeFirst(taken.count)
      return taken
    }
    do {
      let results = try Autograd.withNoGrad { try actWithoutGrad(batch.map(\.observation)) }
      for (request, result) in zip(batch, results) { request.continuation.resume(returning: result) }
    } catch {
      for request in batch { request.continuation.resume(throwing: error) }
    }
    let more = pendingLock.withLock { () -> Bool in
      draining = !pending.isEmpty
      return draining
    }
    if more { queue.async { self.drain() } }
  }

  /// One forward over `observations` (no autograd graph: inference only, nothing to free
  /// after it; grad mode is per thread, so it is set on `queue`).
  private func actWithoutGrad(_ observations: [PolicyObservation]) throws -> [Actions] {
    let start = DispatchTime.now().uptimeNanoseconds
    let b = observations.count
    let images = try Tensor(observations.flatMap(\.image), shape: [b, imageSize, imageSize, 3])  // [B, S, S, 3] uint8
    let state = stateDim > 0 ? try Tensor(observations.flatMap { $0.state ?? [] }, shape: [b, stateDim]) : nil  // [B, D]
    let out = try policy.act(images: images, instructions: observations.map(\.prompt), state: state, sampling: SamplingSettings(greedy: true))
    let normalized = try out.actions.doubles()  // [B, K, 7] in [-1, 1]
    let statistics = policy.config.actionStatistics
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return (0..<b).map { row in
      var values: [Float] = []
      values.reserveCapacity(chunk * 7)
      for k in 0..<chunk {
        let at = (row * chunk + k) * 7
        values += statistics.unnormalize(Array(normalized[at..<(at + 7)])).map(Float.init)
      }
      return Actions(values: values, chunk: chunk, version: version, trainingStep: trainingStep, inferSeconds: seconds, batch: b)
    }
  }
}
