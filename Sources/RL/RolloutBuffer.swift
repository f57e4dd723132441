import Models
import Torch

/// One rollout window: T chunk steps of B environments, K actions per chunk. Storage is
/// allocated once and overwritten every window (`clear()` only resets what must start empty).
///
/// Time runs along dimension 0. Step t holds the observation the policy saw, what it chose and
/// what the environment answered. `values` has T + 1 rows: row T is the bootstrap value of the
/// observation after the window. `dones` has T + 1 rows too: dones[t + 1] says an episode ended
/// with step t (dones[0] is always false: a window starts inside an episode or at its start).
public final class RolloutBuffer {
  public let steps: Int, envs: Int, chunk: Int
  /// Value-head outputs per observation (0: the policy has no critic).
  public let valueOutputs: Int

  public let images: Tensor         // [T, B, H, W, 3] uint8
  public let state: Tensor?         // [T, B, S] float32
  public private(set) var instructions: [[String]]  // [T][B]
  public let tokens: Tensor         // [T, B, K, 7] int64
  public let logProbs: Tensor       // [T, B, K, 7] float32, token level, from the sampling distribution
  public let values: Tensor         // [T + 1, B, V] float32
  public let rewards: Tensor        // [T, B, K] float32, one per action taken
  public let terminated: Tensor     // [T, B] bool
  public let truncated: Tensor      // [T, B] bool
  /// V(true final observation) of the episodes that ended with step t (auto-reset), else 0.
  public let finalValues: Tensor    // [T, B, V] float32
  /// The reset-state id each environment started the window from.
  public var resetStateIDs: [Int]

  public init(steps: Int, envs: Int, chunk: Int, imageSize: Int, stateSize: Int, valueOutputs: Int) throws {
    guard steps >= 1, envs >= 1, chunk >= 1 else { throw TorchError("rollout buffer needs steps, envs and chunk >= 1 (got \(steps), \(envs), \(chunk))") }
    self.steps = steps
    self.envs = envs
    self.chunk = chunk
    self.valueOutputs = valueOutputs
    images = try Tensor.zeros([steps, envs, imageSize, imageSize, 3], dtype: .uint8)
    state = stateSize > 0 ? try Tensor.zeros([steps, envs, stateSize]) : nil
    instructions = Array(repeating: Array(repeating: "", count: envs), count: steps)
    tokens = try Tensor.zeros([steps, envs, chunk, 7], dtype: .int64)
    logProbs = try Tensor.zeros([steps, envs, chunk, 7])
    values = try Tensor.zeros([steps + 1, envs, max(valueOutputs, 1)])
    rewards = try Tensor.zeros([steps, envs, chunk])
    terminated = try Tensor.zeros([steps, envs], dtype: .bool)
    truncated = try Tensor.zeros([steps, envs], dtype: .bool)
    finalValues = try Tensor.zeros([steps, envs, max(valueOutputs, 1)])
    resetStateIDs = Array(repeating: 0, count: envs)
  }

  /// Prepares for a new window: bootstrap values of ended episodes start at zero.
  public func clear() throws {
    try finalValues.fillInPlace(0)
  }

  /// What the policy saw and chose at step t for the environments `rows` (all when nil; a
  /// pipeline sub-batch otherwise). `images` [R, H, W, 3] uint8, `state` [R, S].
  public func recordPolicy(step t: Int, rows: Range<Int>? = nil, images: Tensor, state: Tensor?, instructions: [String], output: PolicyOutput) throws {
    try check(t)
    let rows = try checkRows(rows)
    try slice(self.images, t, rows).copyFrom(images)
    if let stored = self.state, let state { try slice(stored, t, rows).copyFrom(state) }
    self.instructions[t].replaceSubrange(rows, with: instructions)
    try slice(tokens, t, rows).copyFrom(output.tokens)
    try slice(logProbs, t, rows).copyFrom(output.logProbs)
    if valueOutputs > 0, let v = output.values { try slice(values, t, rows).copyFrom(v) }
  }

  /// What the environments `rows` (all when nil) answered to step t's chunk: rewards [R * K]
  /// (row-major [R, K]), terminated and truncated [R] (an episode that ended anywhere in the chunk).
  public func recordEnvironment(step t: Int, rows: Range<Int>? = nil, rewards: [Float], terminated: [Bool], truncated: [Bool]) throws {
    try check(t)
    let rows = try checkRows(rows)
    let n = rows.count
    guard rewards.count == n * chunk, terminated.count == n, truncated.count == n else {
      throw TorchError("step \(t): expected \(n * chunk) rewards and \(n) done flags, got \(rewards.count), \(terminated.count), \(truncated.count)")
    }
    try slice(self.rewards, t, rows).copyFrom(Tensor(rewards, shape: [n, chunk]))
    try slice(self.terminated, t, rows).copyFrom(Tensor(terminated.map { $0 ? Float(1) : 0 }, shape: [n]))
    try slice(self.truncated, t, rows).copyFrom(Tensor(truncated.map { $0 ? Float(1) : 0 }, shape: [n]))
  }

  /// V(final observation) [E, V] of the environments `envs` (E of them) that ended with step t.
  public func recordFinalValues(step t: Int, envs rows: [Int], values v: Tensor) throws {
    try check(t)
    let step = try finalValues.select(dim: 0, index: t)  // [B, V]
    for (j, env) in rows.enumerated() { try step.select(dim: 0, index: env).copyFrom(v.select(dim: 0, index: j)) }
  }

  /// The value [R, V] of the observation after the last step, for `rows` (all when nil).
  public func recordBootstrap(rows: Range<Int>? = nil, values v: Tensor) throws {
    try slice(values, steps, try checkRows(rows)).copyFrom(v)
  }

  /// dones [T + 1, B] bool: dones[t + 1] = the episode ended with step t.
  public func dones() throws -> Tensor {
    let ended = try terminated.logicalOr(truncated)
    return try Tensor.cat([Tensor.zeros([1, envs], dtype: .bool), ended], dim: 0)
  }

  /// Rows `rows` of step t of `tensor`: [R, ...].
  private func slice(_ tensor: Tensor, _ t: Int, _ rows: Range<Int>) throws -> Tensor {
    try tensor.select(dim: 0, index: t).slice(dim: 0, start: rows.lowerBound, end: rows.upperBound)
  }

  private func checkRows(_ rows: Range<Int>?) throws -> Range<Int> {
    guard let rows else { return 0..<envs }
    guard rows.lowerBound >= 0, rows.upperBound <= envs, !rows.isEmpty else { throw TorchError("rows \(rows) outside 0..<\(envs)") }
    return rows
  }

  private func check(_ t: Int) throws {
    guard (0..<steps).contains(t) else { throw TorchError("rollout step \(t) outside 0..<\(steps)") }
  }
}
