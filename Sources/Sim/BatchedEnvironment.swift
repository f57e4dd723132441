/// A batch of environments stepped together, whose observations the caller reads in place from
/// buffers the environment owns. The embedded simulator (`TabletopEnv`) and the Python worker
/// environments (`WorkerEnvironment`: ManiSkill3, LIBERO) both provide it, so policies,
/// algorithms and placement modes run on either unchanged.
public protocol BatchedEnvironment: AnyObject {
  var numEnvs: Int { get }
  /// Side of the square RGB images.
  var imageSize: Int { get }
  /// Floats of proprioceptive state per environment.
  var stateSize: Int { get }
  /// One language instruction per environment.
  var instructions: [String] { get }
  /// Current observations: RGB [N, H, W, 3], the wrist camera's (nil without one), state [N, S].
  /// Valid until the next reset or step, which may put the next observations elsewhere (a
  /// worker's ring of slots): read these properties again after each.
  var rgb: UnsafeMutableBufferPointer<UInt8> { get }
  var wristRGB: UnsafeMutableBufferPointer<UInt8>? { get }
  var state: UnsafeMutableBufferPointer<Float> { get }
  /// The true last observations of episodes that ended in the last step (auto-reset), where
  /// `finalValid[i]`.
  var finalRGB: UnsafeMutableBufferPointer<UInt8> { get }
  var finalWristRGB: UnsafeMutableBufferPointer<UInt8>? { get }
  var finalState: UnsafeMutableBufferPointer<Float> { get }
  var finalValid: UnsafeMutableBufferPointer<Bool> { get }

  /// Resets every environment to a reset state; equal ids give identical starts.
  func reset(stateIDs: [Int]) throws
  /// Applies K actions per environment ([N, K, 7], row-major) in order, auto-resetting ended
  /// episodes after the chunk.
  func stepChunk(_ actions: UnsafeBufferPointer<Float>, chunk: Int) throws -> ChunkResult
  /// Episodes that ended since the last call.
  func drainEpisodes() -> [EpisodeSummary]
}

/// Per-step results of a chunk, [N, K] row-major.
public struct ChunkResult: Sendable {
  public var rewards: [Float]
  public var terminated: [Bool]
  public var truncated: [Bool]
  public var success: [Bool]

  public init(rewards: [Float], terminated: [Bool], truncated: [Bool], success: [Bool]) {
    self.rewards = rewards
    self.terminated = terminated
    self.truncated = truncated
    self.success = success
  }
}
