import Config
import Foundation
import MessagePack
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Where and how the policy server listens.
public struct PolicyServerConfig: Sendable {
  public var host = "127.0.0.1"
  /// 0 picks a free port (see `PolicyServer.port`).
  public var port = 8000
  /// When set, a client must send `Authorization: Api-Key <key>` (openpi-client's `api_key`).
  public var apiKey: String?
  /// The largest message a client may send; bigger ones close its connection (code 1009).
  public var maxMessageBytes = 16 << 20
  public var keys = ObservationKeys()
  public init() {}

}

/// A WebSocket server speaking openpi's policy-server protocol, so robot scripts written for
/// `openpi_client.websocket_client_policy.WebsocketClientPolicy` work unchanged:
/// - on connect the server sends its metadata, a msgpack map, as one binary frame;
/// - each binary frame from the client is one observation (msgpack, numpy arrays in
///   msgpack_numpy's form); the reply is a binary frame holding `{"actions": [K, 7], ...}`;
/// - a request it cannot serve gets a text frame naming the problem (openpi-client raises it as
///   the server's error) and the connection stays open.
/// `GET /healthz` answers 200 over plain HTTP, as openpi's server does.
public final class PolicyServer: Sendable {
  public let config: PolicyServerConfig
  public let engine: PolicyEngine
  public let stats = ServerStats()
  /// The bound port (the chosen one when the config asked for 0).
  public let port: Int
  private let listener: NIOAsyncChannel<EventLoopFuture<Connection>, Never>
  private let group: MultiThreadedEventLoopGroup
  /// Where the accept loop runs (a thread of the server's own; not an event loop, since the
  /// loop ends by stopping the event loops).
  private let executor = SerialThreadExecutor(name: "rlinf-serve-connections")

  enum Connection: Sendable {
    case websocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
    case http(NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>)
  }

  /// Binds the listening socket; `run()` serves it.
  public init(engine: PolicyEngine, config: PolicyServerConfig, threads: Int = 1) async throws {
    guard config.apiKey != nil || ServeConfig.isLoopback(config.host) else {
      throw BadRequest("serving \(config.host) beyond loopback needs an API key (--api-key), so only robots that know it can drive the policy")
    }
    self.config = config
    self.engine = engine
    group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    let expected = config.apiKey.map { "Api-Key " + $0 }
    let maxBytes = config.maxMessageBytes
    // Every accepted connection, from its first moment: one that never finishes its handshake
    // (a port scanner, a stray client that sends nothing) must still close at shutdown.
    let lifecycle = NIOLockedValueBox(Lifecycle())
    self.lifecycle = lifecycle
    listener = try await ServerBootstrap(group: group)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .bind(host: config.host, port: config.port) { channel in
        let id = ObjectIdentifier(channel)
        lifecycle.withLockedValue { $0.connections[id] = channel }
        channel.closeFuture.whenComplete { _ in _ = lifecycle.withLockedValue { $0.connections.removeValue(forKey: id) } }
        return channel.eventLoop.makeCompletedFuture {
          let upgrader = NIOTypedWebSocketServerUpgrader<Connection>(
            maxFrameSize: maxBytes,
            shouldUpgrade: { channel, head in
              let authorised = expected == nil || head.headers["Authorization"].first == expected
              return channel.eventLoop.makeSucceededFuture(authorised ? HTTPHeaders() : nil)
            },
            upgradePipelineHandler: { channel, _ in
              channel.eventLoop.makeCompletedFuture {
                // Fragmented messages are joined up to the same limit as a single frame.
                try channel.pipeline.syncOperations.addHandler(
                  NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 1, maxAccumulatedFrameCount: 1 << 16, maxAccumulatedFrameSize: maxBytes))
                // Reads pause while one message waits: a client holds at most the message in
                // service and one more (each at most maxMessageBytes).
                let oneWaiting = NIOAsyncChannel<WebSocketFrame, WebSocketFrame>.Configuration(
                  backPressureStrategy: .init(lowWatermark: 1, highWatermark: 1))
                return Connection.websocket(try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: oneWaiting))
              }
            })
          let upgrade = NIOTypedHTTPServerUpgradeConfiguration(
            upgraders: [upgrader],
            notUpgradingCompletionHandler: { channel in
              channel.eventLoop.makeCompletedFuture { Connection.http(try NIOAsyncChannel(wrappingChannelSynchronously: channel)) }
            })
          return try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: .init(upgradeConfiguration: upgrade))
        }
      }
    port = listener.channel.localAddress?.port ?? config.port
  }

  /// Serves until `shutdown()`; one client's failure never ends the others. Returns once every
  /// connection has ended, with the event loops stopped.
  public func run() async throws {
    // A shutdown that came first (a job that ended before this task got a thread) already
    // stopped the event loops: there is nothing left to serve.
    let starts = lifecycle.withLockedValue { state -> Bool in
      if state.stopped { return false }
      state.running = true
      return true
    }
    defer { finish() }
    guard starts else { return }
    try await withTaskExecutorPreference(executor) {
      try await withThrowingDiscardingTaskGroup { tasks in
        try await listener.executeThenClose { inbound in
          for try await connection in inbound {
            // On the connection's own event loop (the future completes there).
            tasks.addTask(executorPreference: EventLoopTaskExecutor(loop: connection.eventLoop)) { await self.serve(connection) }
          }
        }
      }
    }
    // Only now, with no connection left using them.
    try? await group.shutdownGracefully()
  }

  /// Connections accepted and not closed yet, handshakes under way included.
  public var openConnections: Int { lifecycle.withLockedValue { $0.connections.count } }

  /// Stops accepting, closes every connection, and waits for `run()` to end (or stops the event
  /// loops itself when `run()` has not started; it then returns at once when it does).
  public func shutdown() async {
    try? await listener.channel.close()
    let (running, open) = lifecycle.withLockedValue { state in
      state.stopped = true
      return (state.running, Array(state.connections.values))
    }
    for channel in open { channel.close(promise: nil) }
    guard running else {
      try? await group.shutdownGracefully()
      return
    }
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
      let now = lifecycle.withLockedValue { state -> Bool in
        if state.finished { return true }
        state.waiting.append(done)
        return false
      }
      if now { done.resume() }
    }
  }

  private func finish() {
    let waiting = lifecycle.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
      state.finished = true
      defer { state.waiting = [] }
      return state.waiting
    }
    for done in waiting { done.resume() }
  }

  /// Whether `run()` runs or ended, whether `shutdown()` came, who waits for the end, and the
  /// open connections.
  private struct Lifecycle {
    var running = false
    var stopped = false
    var finished = false
    var waiting: [CheckedContinuation<Void, Never>] = []
    var connections: [ObjectIdentifier: any Channel] = [:]
  }
  private let lifecycle: NIOLockedValueBox<Lifecycle>

  private func serve(_ connection: EventLoopFuture<Connection>) async {
    do {
      switch try await connection.get() {
      case .websocket(let channel): try await serveWebSocket(channel)
      case .http(let channel): try await serveHTTP(channel)
      }
    } catch {
      // A client that vanished or broke the protocol: its connection is gone, nothing else is.
    }
  }

  private func serveWebSocket(_ channel: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>) async throws {
    let client = stats.connected(address: channel.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?")
    defer { stats.disconnected(client) }
    try await channel.executeThenClose { inbound, outbound in
      let allocator = channel.channel.allocator
      func send(_ opcode: WebSocketOpcode, _ bytes: [UInt8]) async throws {
        try await outbound.write(WebSocketFrame(fin: true, opcode: opcode, data: allocator.buffer(bytes: bytes)))
      }
      try await send(.binary, MessagePackWriter.encode(metadata()))
      for try await frame in inbound {
        switch frame.opcode {
        case .binary:
          let start = DispatchTime.now().uptimeNanoseconds
          do {
            let reply = try await answer(Array(buffer: frame.unmaskedData))
            try await send(.binary, reply)
            stats.served(client, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
          } catch let error as BadRequest {
            stats.refused()
            try await send(.text, Array(error.description.utf8))
          }
        case .text:
          stats.refused()
          try await send(.text, Array("send observations as msgpack in binary frames, not text".utf8))
        case .ping:
          try await send(.pong, Array(buffer: frame.unmaskedData))
        case .connectionClose:
          var data = frame.unmaskedData
          try await send(.connectionClose, data.readBytes(length: min(2, data.readableBytes)) ?? [])
          return
        default:
          break
        }
      }
    }
  }

  /// A refused upgrade (wrong or missing API key), the health check, or anything else. NIO
  /// hands a refused upgrade's channel over after it consumed the request head: a request that
  /// ends with no head seen is that upgrade.
  private func serveHTTP(_ channel: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async throws {
    try await channel.executeThenClose { inbound, outbound in
      var head: HTTPRequestHead?
      for try await part in inbound {
        switch part {
        case .head(let h): head = h
        case .body: continue
        case .end: break
        }
        guard case .end = part else { continue }
        let (status, body): (HTTPResponseStatus, String) =
          head == nil ? (.unauthorized, "a valid API key is required (Authorization: Api-Key ...)\n")
          : head?.uri == "/healthz" ? (.ok, "OK\n")
          : (.badRequest, "this is an openpi policy server: connect with a WebSocket client\n")
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Connection", value: "close")
        try await outbound.write(.head(HTTPResponseHead(version: head?.version ?? .http1_1, status: status, headers: headers)))
        try await outbound.write(.body(.byteBuffer(channel.channel.allocator.buffer(string: body))))
        try await outbound.write(.end(nil))
        return
      }
    }
  }

  /// What the server tells each client on connect.
  func metadata() -> MessagePackValue {
    let served = engine.served
    let keys = config.keys
    return .map([
      .string("server"): .string("rlinf-swift"),
      .string("policy"): .string(engine.modelType),
      .string("action_chunk"): .int(Int64(engine.chunk)),
      .string("action_dim"): .int(7),
      .string("image_size"): .int(Int64(engine.imageSize)),
      .string("state_dim"): .int(Int64(engine.stateDim)),
      .string("policy_version"): .int(Int64(served.version)),
      .string("training_step"): .int(Int64(served.trainingStep)),
      .string("keys"): .map([
        .string("image"): .string(keys.useWristImage ? keys.wristImage : keys.image),
        .string("state"): .string(keys.state), .string("prompt"): .string(keys.prompt),
      ]),
    ])
  }

  /// One observation's reply, or the reason it has none.
  func answer(_ message: [UInt8]) async throws -> [UInt8] {
    let value: MessagePackValue
    do {
      value = try MessagePackReader.decode(message)
    } catch let error as MessagePackReader.Malformed {
      throw BadRequest("not a msgpack message: \(error.description)")
    }
    let observation = try config.keys.observation(value, imageSize: engine.imageSize, stateDim: engine.stateDim)
    let actions: PolicyEngine.Actions
    do {
      actions = try await engine.act(observation)
    } catch {
      throw BadRequest("inference failed: \(error)")
    }
    return MessagePackWriter.encode(.map([
      .string("actions"): NumpyArray(float32: actions.values, shape: [actions.chunk, 7]).messagePack,
      .string("policy_version"): .int(Int64(actions.version)),
      .string("training_step"): .int(Int64(actions.trainingStep)),
      .string("server_timing"): .map([.string("infer_ms"): .float(actions.inferSeconds * 1000), .string("batch"): .int(Int64(actions.batch))]),
    ]))
  }
}

extension PolicyServerConfig {
  /// The server a job's `serve` section describes.
  public init(_ serve: ServeConfig, useWristImage: Bool) {
    self.init()
    host = serve.host
    port = serve.port
    apiKey = serve.apiKey
    keys.image = serve.imageKey
    keys.wristImage = serve.wristImageKey
    keys.useWristImage = useWristImage
    keys.state = serve.stateKey
    keys.prompt = serve.promptKey
  }
}
