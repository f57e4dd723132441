import Foundation
import MessagePack

/// What a remote environment connects to and how patiently.
public struct RemoteSpec: Sendable {
  /// "host:port" of the robot-side server (tools/robot_env.py).
  public var address: String
  public var task: String
  public var numEnvs: Int
  public var imageSize: Int
  public var wristCamera = false
  public var maxChunk = 1
  public var seed: UInt64 = 0
  /// Passed to the robot side as strings.
  public var options: [String: String] = [:]
  /// Seconds to wait for the robot to accept a connection (at start, and on each attempt to
  /// re-admit it after it went away).
  public var connectTimeout = 30.0
  /// Seconds the robot may stay silent within a request; a step in progress sends heartbeats,
  /// so a long chunk on a real robot, or a pause by its operator, is not a stall.
  public var heartbeatTimeout = 10.0

  public init(address: String, task: String, numEnvs: Int, imageSize: Int) {
    self.address = address
    self.task = task
    self.numEnvs = numEnvs
    self.imageSize = imageSize
  }
}

/// A batch of environments on another computer (a real robot), behind the same
/// `BatchedEnvironment` interface as the embedded simulator: requests and observations travel
/// over TCP (`RemoteConnection`; protocol in tools/robot_env.py), images inside the messages.
///
/// A robot that disconnects or stalls ends the chunk in flight as truncated for every
/// environment (those episodes are discarded, as with a crashed simulator worker), and each
/// later call tries to re-admit it (handshake, then a reset to the last reset states); until it
/// is back, steps come back truncated and the job keeps running. The robot's operator can end
/// an episode, mark it a success or a failure, or pause the robot: the first three arrive as
/// the steps' truncation, termination and success flags and in the episode summaries
/// (`operatorSignal`), a pause as heartbeats that hold the step.
public final class RemoteEnvironment: BatchedEnvironment, @unchecked Sendable {
  public let spec: RemoteSpec
  public let numEnvs: Int
  public let imageSize: Int
  public private(set) var stateSize: Int
  public private(set) var instructions: [String]
  /// The robot's control rate (Hz), from its handshake.
  public private(set) var controlRate: Double
  public var rgb: UnsafeMutableBufferPointer<UInt8> { slots[slot].rgb }
  public var wristRGB: UnsafeMutableBufferPointer<UInt8>? { slots[slot].wrist }
  public var state: UnsafeMutableBufferPointer<Float> { slots[slot].state }
  public let finalRGB: UnsafeMutableBufferPointer<UInt8>
  public let finalWristRGB: UnsafeMutableBufferPointer<UInt8>?
  public let finalState: UnsafeMutableBufferPointer<Float>
  public let finalValid: UnsafeMutableBufferPointer<Bool>
  /// Disconnections and stalls, oldest first.
  public private(set) var failures: [String] = []
  /// Seconds the robot's operator held steps paused.
  public private(set) var pausedSeconds = 0.0
  private var connection: RemoteConnection?
  /// Two observation slots: a step writes the one the policy is not reading.
  private var slots: [Slot]
  private var slot = 0
  private var lastStateIDs: [Int]
  private var episodes: [EpisodeSummary] = []
  static let protocolVersion = 1

  private struct Slot {
    var rgb: UnsafeMutableBufferPointer<UInt8>
    var wrist: UnsafeMutableBufferPointer<UInt8>?
    var state: UnsafeMutableBufferPointer<Float>
  }

  public init(spec: RemoteSpec) throws {
    guard spec.numEnvs >= 1, spec.imageSize >= 16, spec.maxChunk >= 1 else {
      throw SimError.invalidConfig("a remote environment needs numEnvs >= 1, imageSize >= 16 and maxChunk >= 1")
    }
    self.spec = spec
    numEnvs = spec.numEnvs
    imageSize = spec.imageSize
    lastStateIDs = Array(0..<spec.numEnvs)
    let connection = try Self.connect(spec)
    let hello = try Self.handshake(connection, spec)
    (stateSize, instructions, controlRate) = (hello.stateSize, hello.instructions, hello.controlRate)
    let pixels = spec.numEnvs * spec.imageSize * spec.imageSize * 3
    func buffer<T>(_ count: Int, _ zero: T) -> UnsafeMutableBufferPointer<T> {
      let b = UnsafeMutableBufferPointer<T>.allocate(capacity: count)
      b.initialize(repeating: zero)
      return b
    }
    slots = (0..<2).map { _ in
      Slot(rgb: buffer(pixels, 0), wrist: spec.wristCamera ? buffer(pixels, 0) : nil, state: buffer(spec.numEnvs * hello.stateSize, 0))
    }
    finalRGB = buffer(pixels, 0)
    finalWristRGB = spec.wristCamera ? buffer(pixels, 0) : nil
    finalState = buffer(spec.numEnvs * hello.stateSize, 0)
    finalValid = buffer(spec.numEnvs, false)
    self.connection = connection
    try reset(stateIDs: lastStateIDs)
  }

  deinit {
    try? connection?.send(.map([.string("cmd"): .string("close")]))
    connection?.close()
    for s in slots {
      s.rgb.deallocate()
      s.wrist?.deallocate()
      s.state.deallocate()
    }
    finalRGB.deallocate()
    finalWristRGB?.deallocate()
    finalState.deallocate()
    finalValid.deallocate()
  }

  // MARK: the batched-environment interface

  public func reset(stateIDs: [Int]) throws {
    guard stateIDs.count == numEnvs else { throw SimError.badActions("reset needs \(numEnvs) state ids, got \(stateIDs.count)") }
    lastStateIDs = stateIDs
    for i in 0..<numEnvs { finalValid[i] = false }
    guard let connection = try readmitted() else { return }
    do {
      let reply = try request(connection, ["cmd": .string("reset"), "state_ids": .array(stateIDs.map { .int(Int64($0)) })])
      try writeObservation(reply["obs"], into: (slot + 1) % 2)
      slot = (slot + 1) % 2
    } catch let failure as RemoteConnection.Failure {
      drop(failure)
    }
  }

  public func stepChunk(_ actions: UnsafeBufferPointer<Float>, chunk: Int) throws -> ChunkResult {
    guard (1...spec.maxChunk).contains(chunk) else { throw SimError.badActions("chunk \(chunk) outside 1...\(spec.maxChunk)") }
    let count = numEnvs * chunk
    guard actions.count == count * 7 else { throw SimError.badActions("expected \(count * 7) action floats, got \(actions.count)") }
    if let bad = actions.firstIndex(where: { !($0.isFinite && abs($0) <= 1.000001) }) {
      throw SimError.badActions("action \(bad) is \(actions[bad]): actions must be finite and in [-1, 1]")
    }
    let lost = ChunkResult(
      rewards: Array(repeating: 0, count: count), terminated: Array(repeating: false, count: count),
      truncated: Array(repeating: true, count: count), success: Array(repeating: false, count: count))
    guard let connection = try readmitted() else { return lost }
    do {
      // float32 little-endian on the wire: the host's own layout on every platform built here.
      let bytes = Array(UnsafeRawBufferPointer(actions))
      let reply = try request(connection, ["cmd": .string("step"), "chunk": .int(Int64(chunk)), "actions": .binary(bytes)])
      let next = (slot + 1) % 2
      try writeObservation(reply["obs"], into: next)
      let valid = try Self.bools(reply["final_valid"], numEnvs, "final_valid")
      for i in 0..<numEnvs { finalValid[i] = valid[i] }
      if valid.contains(true) {
        try Self.copy(reply["final"]?["rgb"], into: finalRGB, "final rgb")
        if let wrist = finalWristRGB { try Self.copy(reply["final"]?["wrist_rgb"], into: wrist, "final wrist_rgb") }
        try Self.copyFloats(reply["final"]?["state"], into: finalState, "final state")
      }
      let result = ChunkResult(
        rewards: try Self.floats(reply["rewards"], count, "rewards"), terminated: try Self.bools(reply["terminated"], count, "terminated"),
        truncated: try Self.bools(reply["truncated"], count, "truncated"), success: try Self.bools(reply["success"], count, "success"))
      slot = next
      episodes += Self.episodes(reply["episodes"])
      return result
    } catch let failure as RemoteConnection.Failure {
      drop(failure)
      return lost
    }
  }

  public func drainEpisodes() -> [EpisodeSummary] {
    defer { episodes.removeAll() }
    return episodes
  }

  /// Whether the robot is connected now.
  public var connected: Bool { connection != nil }

  // MARK: connection

  private struct Hello {
    var stateSize: Int
    var instructions: [String]
    var controlRate: Double
  }

  private static func connect(_ spec: RemoteSpec) throws -> RemoteConnection {
    do {
      return try RemoteConnection(address: spec.address, timeout: spec.connectTimeout)
    } catch let failure as RemoteConnection.Failure {
      throw SimError.worker("robot at \(spec.address): \(failure)")
    }
  }

  /// Protocol version, task and shapes out; state size, instructions and control rate back.
  private static func handshake(_ connection: RemoteConnection, _ spec: RemoteSpec) throws -> Hello {
    let options = MessagePackValue.map(Dictionary(uniqueKeysWithValues: spec.options.map { (MessagePackValue.string($0.key), MessagePackValue.string($0.value)) }))
    let reply: MessagePackValue
    do {
      try connection.send(.map([
        .string("cmd"): .string("init"), .string("protocol"): .int(Int64(protocolVersion)), .string("task"): .string(spec.task),
        .string("num_envs"): .int(Int64(spec.numEnvs)), .string("image_size"): .int(Int64(spec.imageSize)),
        .string("wrist"): .bool(spec.wristCamera), .string("max_chunk"): .int(Int64(spec.maxChunk)),
        .string("seed"): .int(Int64(truncatingIfNeeded: spec.seed)), .string("options"): options,
      ]))
      reply = try connection.receive(timeout: spec.connectTimeout)
    } catch let failure as RemoteConnection.Failure {
      throw SimError.worker("robot at \(spec.address): \(failure)")
    }
    if reply["ok"] == .bool(false) { throw SimError.worker("robot at \(spec.address) refused the handshake: \(reply["error"]?.text ?? "no reason")") }
    guard reply["protocol"]?.integer == protocolVersion else {
      throw SimError.worker("robot at \(spec.address) speaks protocol \(reply["protocol"]?.integer.map(String.init) ?? "?"), this daemon \(protocolVersion)")
    }
    guard let size = reply["state_size"]?.integer, size >= 1, case .array(let texts)? = reply["instructions"], texts.count == spec.numEnvs else {
      throw SimError.worker("robot at \(spec.address) sent an incomplete handshake (state_size, one instruction per environment)")
    }
    let rate: Double = switch reply["control_hz"] {
    case .float(let f)?: f
    case let v?: Double(v.integer ?? 0)
    case nil: 0
    }
    return Hello(stateSize: size, instructions: texts.map { $0.text ?? "" }, controlRate: rate)
  }

  /// The connection, re-admitting a robot that went away (nil while it is still away).
  private func readmitted() throws -> RemoteConnection? {
    if let connection { return connection }
    guard let fresh = try? Self.connect(spec), let hello = try? Self.handshake(fresh, spec) else { return nil }
    guard hello.stateSize == stateSize else {
      throw SimError.worker("robot at \(spec.address) came back with state size \(hello.stateSize), not \(stateSize)")
    }
    instructions = hello.instructions
    connection = fresh
    let ids = lastStateIDs
    try reset(stateIDs: ids)
    return connection
  }

  /// A request and its reply, holding through heartbeats (a paused robot sends them too).
  private func request(_ connection: RemoteConnection, _ fields: [String: MessagePackValue]) throws -> MessagePackValue {
    try connection.send(.map(Dictionary(uniqueKeysWithValues: fields.map { (.string($0.key), $0.value) })))
    while true {
      let started = Date()
      let reply = try connection.receive(timeout: spec.heartbeatTimeout)
      if reply["heartbeat"] != nil {
        if reply["paused"] == .bool(true) { pausedSeconds += Date().timeIntervalSince(started) }
        continue
      }
      if reply["ok"] == .bool(false) { throw RemoteConnection.Failure(description: "robot error: \(reply["error"]?.text ?? "no reason")") }
      return reply
    }
  }

  private func drop(_ failure: RemoteConnection.Failure) {
    failures.append("robot at \(spec.address): \(failure)")
    connection?.close()
    connection = nil
  }

  // MARK: decoding

  private func writeObservation(_ obs: MessagePackValue?, into index: Int) throws {
    try Self.copy(obs?["rgb"], into: slots[index].rgb, "rgb")
    if let wrist = slots[index].wrist { try Self.copy(obs?["wrist_rgb"], into: wrist, "wrist_rgb") }
    try Self.copyFloats(obs?["state"], into: slots[index].state, "state")
  }

  private static func bytes(_ value: MessagePackValue?, _ count: Int, _ name: String) throws -> [UInt8] {
    guard case .binary(let b)? = value, b.count == count else {
      throw RemoteConnection.Failure(description: "the robot's \(name) is not \(count) bytes")
    }
    return b
  }

  private static func copy(_ value: MessagePackValue?, into target: UnsafeMutableBufferPointer<UInt8>, _ name: String) throws {
    let b = try bytes(value, target.count, name)
    _ = target.update(fromContentsOf: b)
  }

  private static func copyFloats(_ value: MessagePackValue?, into target: UnsafeMutableBufferPointer<Float>, _ name: String) throws {
    let values = try floats(value, target.count, name)
    _ = target.update(fromContentsOf: values)
  }

  private static func floats(_ value: MessagePackValue?, _ count: Int, _ name: String) throws -> [Float] {
    let b = try bytes(value, 4 * count, name)
    return (0..<count).map { i in
      Float(bitPattern: UInt32(b[4 * i]) | UInt32(b[4 * i + 1]) << 8 | UInt32(b[4 * i + 2]) << 16 | UInt32(b[4 * i + 3]) << 24)
    }
  }

  private static func bools(_ value: MessagePackValue?, _ count: Int, _ name: String) throws -> [Bool] {
    try bytes(value, count, name).map { $0 != 0 }
  }

  static func episodes(_ value: MessagePackValue?) -> [EpisodeSummary] {
    guard case .array(let items)? = value else { return [] }
    return items.compactMap { e in
      guard let env = e["env"]?.integer else { return nil }
      let ret: Double = switch e["return"] {
      case .float(let f)?: f
      case let v?: Double(v.integer ?? 0)
      case nil: 0
      }
      return EpisodeSummary(
        env: env, task: e["task"]?.text ?? "", successOnce: e["success_once"] == .bool(true), successAtEnd: e["success_at_end"] == .bool(true),
        episodeReturn: ret, length: e["length"]?.integer ?? 0, operatorSignal: e["operator"]?.text)
    }
  }
}
