import Foundation
import Models
import Serve
import TestSupport
import Testing
import Torch

#if canImport(Glibc)
import Glibc
#endif

/// The policy server driven by the real openpi-client (and raw websockets for what that client
/// never sends), its actions checked against the same policy called directly.
@Suite(.serialized) struct PolicyServerTests {
  static let statistics = ActionStatistics(
    q01: [-0.5, -0.4, -0.3, -0.2, -0.1, 0, -1], q99: [0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1], mask: Array(repeating: true, count: 6) + [false])

  /// A tiny OFT policy (K = 2, 8-D state) with seeded random weights and robot-unit statistics.
  static func policy(seed: UInt64) throws -> VLAPolicy {
    let tokenizer = try SentencePieceTokenizer(path: repositoryRoot + "/configs/tiny-tokenizer.model")
    var config = VLAConfig.tiny(head: .oft, numActionChunks: 2, textVocabulary: tokenizer.vocabularySize, proprioDim: 8)
    config.actionStatistics = statistics
    return try VLAPolicy(config: config, tokenizer: tokenizer, generator: Generator(seed: seed))
  }

  /// The robot-unit actions [K * 7] the policy gives directly, un-normalised by the formula
  /// of OpenVLA's statistics (written out here, not taken from the server's code).
  static func direct(_ policy: VLAPolicy, image: [Int], state: [Double], prompt: String) throws -> [Double] {
    let images = try Tensor(image.map(UInt8.init), shape: [1, 64, 64, 3])
    let out = try policy.act(images: images, instructions: [prompt], state: Tensor(state.map(Float.init), shape: [1, 8]), sampling: SamplingSettings(greedy: true))
    let x = try out.actions.doubles()
    return x.indices.map { i in
      let d = i % 7
      if d == 6 { return x[i] > 0 ? 1 : -1 }
      return (x[i] + 1) / 2 * (statistics.q99[d] - statistics.q01[d]) + statistics.q01[d]
    }
  }

  /// Runs the probe against `server` and returns its JSON.
  static func probe(_ mode: String, _ server: PolicyServer, apiKey: String? = nil) async throws -> [String: Any] {
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("openpi-\(UUID().uuidString).json").path
    defer { try? FileManager.default.removeItem(atPath: out) }
    let script = repositoryRoot + "/Tests/ServeTests/Reference/openpi_probe.py"
    let arguments = [mode, String(server.port), out] + (apiKey.map { [$0] } ?? [])
    _ = try await Task.detached { try runPython(script, arguments) }.value
    return try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])
  }

  /// Serves `engine` for the duration of `body`.
  static func serving(_ engine: PolicyEngine, maxMessageBytes: Int = 1 << 20, apiKey: String? = nil, _ body: (PolicyServer) async throws -> Void) async throws {
    var config = PolicyServerConfig()
    config.port = 0
    config.maxMessageBytes = maxMessageBytes
    config.apiKey = apiKey
    let server = try await PolicyServer(engine: engine, config: config)
    let running = Task { try await server.run() }
    do {
      try await body(server)
    } catch {
      await server.shutdown()
      throw error
    }
    await server.shutdown()
    _ = await running.result
  }

  static func expectClose(_ served: [Double], _ expected: [Double], _ label: String) {
    #expect(served.count == expected.count, "\(label): \(served.count) values, expected \(expected.count)")
    let worst = zip(served, expected).map { abs($0 - $1) }.max() ?? .infinity
    #expect(worst < 1e-5, "\(label): actions differ by \(worst)")
  }

  @Test func openpiClientGetsThePolicysActions() async throws {
    let first = try Self.policy(seed: 11), second = try Self.policy(seed: 12)
    let engine = PolicyEngine(policy: first, trainingStep: 42)
    try await Self.serving(engine) { server in
      let seen = try await Self.probe("infer", server)
      let metadata = try #require(seen["metadata"] as? [String: Any])
      #expect(metadata["action_chunk"] as? Int == 2 && metadata["action_dim"] as? Int == 7 && metadata["image_size"] as? Int == 64)
      #expect(metadata["policy"] as? String == "oft" && metadata["training_step"] as? Int == 42 && metadata["policy_version"] as? Int == 1)
      #expect((seen["keys"] as? [String: String])?["image"] == "observation/image")
      let cases = try #require(seen["cases"] as? [[String: Any]])
      #expect(cases.count == 4)
      for (i, c) in cases.enumerated() {
        #expect(c["dtype"] as? String == "<f4" && c["shape"] as? [Int] == [2, 7])
        #expect(c["version"] as? Int == 1 && c["step"] as? Int == 42)
        let served = try #require(c["actions"] as? [[Double]]).flatMap { $0 }
        let expected = try Self.direct(first, image: try #require(c["image"] as? [Int]), state: try #require(c["state"] as? [Double]), prompt: try #require(c["prompt"] as? String))
        Self.expectClose(served, expected, i == 3 ? "the 128x128 image, box-averaged as numpy does" : "observation \(i)")
      }
      #expect(server.stats.snapshot.requests == 4)

      // Newer weights are served from the next request on, with their version and step.
      try engine.replace(with: second, trainingStep: 43)
      let after = try #require(try await Self.probe("infer", server)["cases"] as? [[String: Any]])
      let c = after[0]
      #expect(c["version"] as? Int == 2 && c["step"] as? Int == 43)
      let expected = try Self.direct(second, image: try #require(c["image"] as? [Int]), state: try #require(c["state"] as? [Double]), prompt: try #require(c["prompt"] as? String))
      Self.expectClose(try #require(c["actions"] as? [[Double]]).flatMap { $0 }, expected, "after the swap")
    }
  }

  @Test func concurrentClientsEachGetTheirAnswer() async throws {
    let policy = try Self.policy(seed: 11)
    try await Self.serving(PolicyEngine(policy: policy, trainingStep: 0)) { server in
      let seen = try await Self.probe("concurrent", server)
      #expect((seen["errors"] as? [String]) == [])
      let replies = try #require(seen["replies"] as? [[[Double]]])
      #expect(replies.count == 18)
      let c = try #require(seen["case"] as? [String: Any])
      let expected = try Self.direct(policy, image: try #require(c["image"] as? [Int]), state: try #require(c["state"] as? [Double]), prompt: try #require(c["prompt"] as? String))
      for reply in replies { Self.expectClose(reply.flatMap { $0 }, expected, "a concurrent reply") }
    }
  }

  @Test func badRequestsGetErrorsAndTheServerServesOn() async throws {
    try await Self.serving(PolicyEngine(policy: try Self.policy(seed: 11), trainingStep: 0)) { server in
      let seen = try await Self.probe("bad", server)
      func says(_ name: String, _ text: String) {
        #expect((seen[name] as? String)?.contains(text) == true, "\(name): \(seen[name] ?? "nothing")")
      }
      says("missing image", "missing key \"observation/image\"")
      says("float image", "must be uint8 [H, W, 3], got <f4")
      says("2-D image", "must be uint8 [H, W, 3]")
      says("odd size", "cannot be fed to a policy of 64x64")
      says("prompt not a string", "\"prompt\" must be a string")
      says("missing state", "missing key \"observation/state\"")
      says("short state", "of 8 values")
      says("not msgpack", "not a msgpack message")
      says("text frame", "binary frames")
      says("not a map", "must be a map")
      #expect(seen["good after errors"] as? [Int] == [2, 7])
      #expect(seen["oversized"] as? String == "closed 1009")  // "message too big"
      #expect(seen["after a vanished client"] as? [Int] == [2, 7])
      #expect(seen["healthz"] as? Int == 200)
      #expect(seen["plain GET"] as? Int == 400)
      #expect(server.stats.snapshot.refusals == 10)
    }
  }

  @Test func anAPIKeyKeepsOthersOut() async throws {
    try await Self.serving(PolicyEngine(policy: try Self.policy(seed: 11), trainingStep: 0), apiKey: "sekret") { server in
      let seen = try await Self.probe("auth", server, apiKey: "sekret")
      #expect(seen["no key"] as? Int == 401)
      #expect(seen["wrong key"] as? Int == 401)
      #expect(seen["right key"] as? [Int] == [2, 7])
    }
  }

  /// The status of each connected client: its address, replies and latency.
  @Test func statsNameEachConnectedClient() async throws {
    try await Self.serving(PolicyEngine(policy: try Self.policy(seed: 11), trainingStep: 0)) { server in
      let out = FileManager.default.temporaryDirectory.appendingPathComponent("openpi-hold-\(UUID().uuidString).json").path
      let arguments = ["hold", String(server.port), out]
      let script = repositoryRoot + "/Tests/ServeTests/Reference/openpi_probe.py"
      let probe = Task.detached { try runPython(script, arguments) }
      let deadline = Date().addingTimeInterval(120)
      while !FileManager.default.fileExists(atPath: out + ".ready") {  // the client says it has sent its requests
        guard Date() < deadline else { break }
        try await Task.sleep(for: .milliseconds(20))
      }
      let ready = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + ".ready"))) as? [String: Int]
      let clients = server.stats.snapshot.perClient
      #expect(clients.count == 1)
      #expect(clients.first?.address == "127.0.0.1:\(ready?["port"] ?? -1)")
      #expect(clients.first?.requests == 3 && clients.first?.p50Milliseconds != nil)
      FileManager.default.createFile(atPath: out + ".release", contents: nil)
      _ = try await probe.value
      for suffix in ["", ".ready", ".release"] { try? FileManager.default.removeItem(atPath: out + suffix) }
    }
  }

  @Test func onlyLoopbackGoesWithoutAKey() async throws {
    var config = PolicyServerConfig()
    config.host = "0.0.0.0"
    config.port = 0
    await #expect(throws: BadRequest.self) { _ = try await PolicyServer(engine: PolicyEngine(policy: try Self.policy(seed: 11), trainingStep: 0), config: config) }
  }

  /// A client that connects and never sends a byte (a port probe, a stray process that found
  /// the port) neither counts as served nor holds up shutdown, which closes it with the rest.
  @Test func aSilentConnectionDoesNotHoldUpShutdown() async throws {
    var config = PolicyServerConfig()
    config.port = 0
    let server = try await PolicyServer(engine: PolicyEngine(policy: try Self.policy(seed: 12), trainingStep: 0), config: config)
    let running = Task { try await server.run() }
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(server.port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    #expect(connected == 0)
    let accepted = Date().addingTimeInterval(30)
    while server.openConnections == 0 && Date() < accepted { try await Task.sleep(nanoseconds: 10_000_000) }
    #expect(server.openConnections == 1, "the server accepted the silent connection")
    let stopped = await Self.finishes(within: 30) { await server.shutdown() }
    #expect(stopped, "shutdown returned with the silent connection open")
    if stopped { _ = await running.result }
    var byte: UInt8 = 0
    #expect(read(fd, &byte, 1) == 0, "the server closed the silent connection")
  }

  /// A job can end before the serving task got a thread: `run()` after `shutdown()` returns.
  @Test func runAfterShutdownReturnsAtOnce() async throws {
    var config = PolicyServerConfig()
    config.port = 0
    let server = try await PolicyServer(engine: PolicyEngine(policy: try Self.policy(seed: 13), trainingStep: 0), config: config)
    await server.shutdown()
    let returned = await Self.finishes(within: 30) { _ = try? await server.run() }
    #expect(returned, "run() after shutdown() still waits")
  }

  /// Whether `body` ends within `seconds`; a body that never ends is left behind (a task
  /// group would wait for it), so a hang fails the test instead of stalling the suite.
  static func finishes(within seconds: Double, _ body: @escaping @Sendable () async -> Void) async -> Bool {
    let ended = Flag()
    Task.detached { await body(); ended.set() }
    let deadline = Date().addingTimeInterval(seconds)
    while !ended.isSet && Date() < deadline { try? await Task.sleep(nanoseconds: 10_000_000) }
    return ended.isSet
  }

  final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
  }
}
