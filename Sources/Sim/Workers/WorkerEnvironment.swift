import Foundation

/// A batch of environments simulated by a Python worker process (ManiSkill3, LIBERO), behind the
/// same `BatchedEnvironment` interface as the embedded simulator. Observations, actions and
/// per-step results live in one shared-memory file that both processes map; the control socket
/// carries only small JSON requests (reset, step, close) and the episodes that ended.
///
/// Observations go to a ring of `spec.observationSlots` preallocated slots: each reset or step
/// names the next slot, so the observation the policy last read stays intact while the worker
/// writes the next one. The policy reads the current slot in place.
///
/// A worker that crashes, hangs past `requestTimeout` or asks for input is killed, its output
/// kept in `failures`, and a new one started on the same slot; the chunk in flight comes back as
/// truncated for every environment with no final observations (those episodes are discarded:
/// no rewards, no summaries), and the environments start again from their last reset states.
public final class WorkerEnvironment: BatchedEnvironment, @unchecked Sendable {
  public let spec: WorkerSpec
  public let numEnvs: Int
  public let imageSize: Int
  public let stateSize: Int
  public let instructions: [String]
  /// What the worker reported about itself (python and package versions, backend details).
  public let versions: [String: String]
  public var rgb: UnsafeMutableBufferPointer<UInt8> { slots[slot].rgb }
  public var wristRGB: UnsafeMutableBufferPointer<UInt8>? { slots[slot].wristRGB }
  public var state: UnsafeMutableBufferPointer<Float> { slots[slot].state }
  /// The observation slot the last reset or step wrote.
  public private(set) var slot = 0
  public let finalRGB: UnsafeMutableBufferPointer<UInt8>
  public let finalWristRGB: UnsafeMutableBufferPointer<UInt8>?
  public let finalState: UnsafeMutableBufferPointer<Float>
  public let finalValid: UnsafeMutableBufferPointer<Bool>
  /// Each failure's report (with the worker's output), oldest first.
  public private(set) var failures: [String] = []
  private var worker: WorkerProcess
  private let memory: SharedMemory
  private let layout: [String: (offset: Int, count: Int)]
  /// The arrays of the shared-memory file, resolved once from `layout`.
  private let slots: [ObservationSlot]
  private let actionSlot: UnsafeMutableBufferPointer<Float>  // [N, K, 7]
  private let rewards: UnsafeMutableBufferPointer<Float>     // [N, K]
  private let terminated, truncated, success: UnsafeMutableBufferPointer<Bool>  // [N, K]

  private struct ObservationSlot {
    let rgb: UnsafeMutableBufferPointer<UInt8>
    let wristRGB: UnsafeMutableBufferPointer<UInt8>?
    let state: UnsafeMutableBufferPointer<Float>
  }
  private var episodes: [EpisodeSummary] = []
  private var lastStateIDs: [Int]
  static let protocolVersion = 1
  static let actionSize = 7

  public init(spec: WorkerSpec) throws {
    guard spec.numEnvs >= 1, spec.imageSize >= 16, spec.maxChunk >= 1, spec.observationSlots >= 2 else {
      throw SimError.invalidConfig("worker needs numEnvs >= 1, imageSize >= 16, maxChunk >= 1 and observationSlots >= 2")
    }
    self.spec = spec
    numEnvs = spec.numEnvs
    imageSize = spec.imageSize
    lastStateIDs = Array(0..<spec.numEnvs)
    worker = try WorkerProcess(spec: spec)
    let hello = try Self.initialize(worker, spec)
    stateSize = hello.stateSize
    instructions = hello.instructions
    versions = hello.versions
    let plan = Self.planLayout(spec, stateSize: hello.stateSize)
    let (layout, memory) = (plan.arrays, try SharedMemory(size: plan.size))
    func array<T>(_ name: String, _: T.Type) -> UnsafeMutableBufferPointer<T> {
      let place = layout[name]!
      return UnsafeMutableBufferPointer(start: (memory.base + place.offset).assumingMemoryBound(to: T.self), count: place.count)
    }
    let wrist = spec.wristCamera
    slots = (0..<spec.observationSlots).map { s in
      ObservationSlot(
        rgb: array("rgb.\(s)", UInt8.self), wristRGB: wrist ? array("wrist_rgb.\(s)", UInt8.self) : nil, state: array("state.\(s)", Float.self))
    }
    finalRGB = array("final_rgb", UInt8.self)
    finalWristRGB = wrist ? array("final_wrist_rgb", UInt8.self) : nil
    finalState = array("final_state", Float.self)
    finalValid = array("final_valid", Bool.self)
    actionSlot = array("actions", Float.self)
    rewards = array("rewards", Float.self)
    terminated = array("terminated", Bool.self)
    truncated = array("truncated", Bool.self)
    success = array("success", Bool.self)
    self.layout = layout
    self.memory = memory
    try map(worker)
    try reset(stateIDs: lastStateIDs)
  }

  deinit { worker.shutdown() }

  // MARK: the batched-environment interface

  public func reset(stateIDs: [Int]) throws {
    guard stateIDs.count == numEnvs else { throw SimError.badActions("reset needs \(numEnvs) state ids, got \(stateIDs.count)") }
    lastStateIDs = stateIDs
    let next = (slot + 1) % spec.observationSlots
    _ = try worker.request(
      ["cmd": "reset", "state_ids": stateIDs, "seed": Int(truncatingIfNeeded: spec.seed), "slot": next], timeout: spec.requestTimeout)
    slot = next
    for i in 0..<numEnvs { finalValid[i] = false }
  }

  public func stepChunk(_ actions: UnsafeBufferPointer<Float>, chunk: Int) throws -> ChunkResult {
    guard (1...spec.maxChunk).contains(chunk) else { throw SimError.badActions("chunk \(chunk) outside 1...\(spec.maxChunk)") }
    let expected = numEnvs * chunk * Self.actionSize
    guard actions.count == expected else { throw SimError.badActions("expected \(expected) action floats, got \(actions.count)") }
    if let bad = actions.firstIndex(where: { !($0.isFinite && abs($0) <= 1.000001) }) {
      throw SimError.badActions("action \(bad) is \(actions[bad]): actions must be finite and in [-1, 1]")
    }
    actionSlot.baseAddress!.update(from: actions.baseAddress!, count: expected)
    do {
      let next = (slot + 1) % spec.observationSlots
      let reply = try worker.request(["cmd": "step", "chunk": chunk, "slot": next], timeout: spec.requestTimeout)
      slot = next
      episodes += Self.episodes(in: reply)
      let count = numEnvs * chunk
      return ChunkResult(
        rewards: Array(rewards.prefix(count)), terminated: Array(terminated.prefix(count)), truncated: Array(truncated.prefix(count)),
        success: Array(success.prefix(count)))
    } catch let error as SimError {
      try restart(after: error)
      let count = numEnvs * chunk
      return ChunkResult(
        rewards: Array(repeating: 0, count: count), terminated: Array(repeating: false, count: count),
        truncated: Array(repeating: true, count: count), success: Array(repeating: false, count: count))
    }
  }

  public func drainEpisodes() -> [EpisodeSummary] {
    defer { episodes.removeAll() }
    return episodes
  }

  /// The worker's process id (tests stop and kill it to check the recovery).
  public var workerProcessID: Int32 { worker.process.processIdentifier }

  // MARK: start-up

  private struct Hello {
    var stateSize: Int
    var instructions: [String]
    var versions: [String: String]
  }

  /// The handshake: protocol version, backend, task and shapes out; state size, instructions
  /// and versions back.
  private static func initialize(_ worker: WorkerProcess, _ spec: WorkerSpec) throws -> Hello {
    let reply = try worker.request([
      "cmd": "init", "protocol": Self.protocolVersion, "backend": spec.backend, "task": spec.task, "num_envs": spec.numEnvs,
      "image_size": spec.imageSize, "wrist": spec.wristCamera, "max_chunk": spec.maxChunk, "seed": Int(truncatingIfNeeded: spec.seed),
      "options": spec.options,
    ], timeout: spec.startTimeout)
    guard reply["protocol"] as? Int == Self.protocolVersion else {
      throw SimError.worker("\(worker.label) speaks protocol \(reply["protocol"] ?? "?"), this daemon \(Self.protocolVersion)")
    }
    guard let size = reply["state_size"] as? Int, size >= 1, let texts = reply["instructions"] as? [String], texts.count == spec.numEnvs else {
      throw SimError.worker("\(worker.label) sent an incomplete handshake: \(reply)")
    }
    let versions = (reply["versions"] as? [String: Any] ?? [:]).mapValues { "\($0)" }
    return Hello(stateSize: size, instructions: texts, versions: versions)
  }

  /// Arrays of the slot in order, each 64-byte aligned, and the total size.
  private static func planLayout(_ spec: WorkerSpec, stateSize: Int) -> (arrays: [String: (offset: Int, count: Int)], size: Int) {
    let n = spec.numEnvs, k = spec.maxChunk, pixels = n * spec.imageSize * spec.imageSize * 3
    var order: [(String, Int, Int)] = []
    for s in 0..<spec.observationSlots {
      order += [("rgb.\(s)", pixels, 1), ("state.\(s)", n * stateSize, 4)]
      if spec.wristCamera { order.append(("wrist_rgb.\(s)", pixels, 1)) }
    }
    order += [("final_rgb", pixels, 1), ("final_state", n * stateSize, 4), ("final_valid", n, 1), ("actions", n * k * 7, 4),
              ("rewards", n * k, 4), ("terminated", n * k, 1), ("truncated", n * k, 1), ("success", n * k, 1)]
    if spec.wristCamera { order.append(("final_wrist_rgb", pixels, 1)) }
    var arrays: [String: (offset: Int, count: Int)] = [:]
    var offset = 0
    for (name, count, width) in order {
      arrays[name] = (offset, count)
      offset += (count * width + 63) / 64 * 64
    }
    return (arrays, offset)
  }

  /// Tells the worker where the slot is: the file and each array's offset, shape and type.
  private func map(_ worker: WorkerProcess) throws {
    let s = imageSize, n = numEnvs, k = spec.maxChunk
    let shapes: [String: ([Int], String)] = [
      "rgb": ([n, s, s, 3], "uint8"), "wrist_rgb": ([n, s, s, 3], "uint8"), "state": ([n, stateSize], "float32"),
      "final_rgb": ([n, s, s, 3], "uint8"), "final_wrist_rgb": ([n, s, s, 3], "uint8"), "final_state": ([n, stateSize], "float32"),
      "final_valid": ([n], "bool"), "actions": ([n, k, 7], "float32"), "rewards": ([n, k], "float32"),
      "terminated": ([n, k], "bool"), "truncated": ([n, k], "bool"), "success": ([n, k], "bool"),
    ]
    var arrays: [String: Any] = [:]
    for (name, place) in layout {
      let shape = shapes[String(name.split(separator: ".")[0])]!  // "rgb.1": slot 1 of rgb
      arrays[name] = ["offset": place.offset, "shape": shape.0, "dtype": shape.1]
    }
    _ = try worker.request(["cmd": "map", "path": memory.path, "size": memory.size, "arrays": arrays], timeout: spec.requestTimeout)
  }

  // MARK: recovery

  /// Replaces a failed worker: a new process on the same slot, reset to the last reset states.
  private func restart(after error: SimError) throws {
    failures.append("\(error)")
    worker = try WorkerProcess(spec: spec)
    let hello = try Self.initialize(worker, spec)
    guard hello.stateSize == stateSize else {
      throw SimError.worker("the restarted \(worker.label) reports state size \(hello.stateSize), not \(stateSize)")
    }
    try map(worker)
    try reset(stateIDs: lastStateIDs)
  }

  static func episodes(in reply: [String: Any]) -> [EpisodeSummary] {
    (reply["episodes"] as? [[String: Any]] ?? []).compactMap { e in
      guard let env = e["env"] as? Int else { return nil }
      return EpisodeSummary(
        env: env, task: e["task"] as? String ?? "", successOnce: e["success_once"] as? Bool ?? false,
        successAtEnd: e["success_at_end"] as? Bool ?? false, episodeReturn: (e["return"] as? NSNumber)?.doubleValue ?? 0,
        length: e["length"] as? Int ?? 0)
    }
  }
}
