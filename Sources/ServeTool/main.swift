// rlinf-serve: serves a policy checkpoint to robots over openpi's WebSocket protocol, so robot
// scripts written for openpi-client's WebsocketClientPolicy drive it unchanged.
import ArgumentParser
import CSys
import Checkpoints
import Foundation
import Models
import Serve

@main
struct RlinfServe: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rlinf-serve",
    abstract: "Serve a policy checkpoint over openpi's policy-server protocol (WebSocket, msgpack).",
    discussion: """
      CHECKPOINT is a policy folder (config.json, tokenizer.model, safetensors), or a training run's \
      folder (runs/NAME) with --follow, which serves its newest complete checkpoint and swaps in each \
      newer one as the job writes it. Replies hold {"actions": [K, 7]} in the robot's units (the \
      checkpoint's action statistics), the policy version and the training step.
      """)

  @Argument(help: "A policy checkpoint folder, or with --follow a run folder.") var checkpoint: String
  @Option(help: "Address to bind (loopback by default; any other needs --api-key).") var host = "127.0.0.1"
  @Option(help: "Port (0: any free port, printed).") var port = 8000
  @Option(help: "Clients must send 'Authorization: Api-Key KEY' (openpi-client's api_key).") var apiKey: String?
  @Flag(help: "Serve the run folder's newest checkpoint, following the job as it writes new ones.") var follow = false
  @Option(help: "Seconds between looks for a newer checkpoint with --follow.") var pollSeconds = 2.0
  @Option(help: "Observation key of the third-person image.") var imageKey = "observation/image"
  @Option(help: "Observation key of the wrist image.") var wristImageKey = "observation/wrist_image"
  @Flag(help: "Feed the wrist image to the policy (a policy trained with env.*.use_wrist_image).") var useWristImage = false
  @Option(help: "Observation key of the robot state (policies with proprio_dim > 0).") var stateKey = "observation/state"
  @Option(help: "Observation key of the instruction.") var promptKey = "prompt"
  @Option(help: "Largest message a client may send, in MiB.") var maxMessageMib = 16
  @Option(help: "libtorch threads of each forward (default: every core).") var threads: Int?
  @Option(help: "The most requests one forward answers (concurrent clients share forwards).") var maxBatch = 8

  func run() async throws {
    csys_line_buffered_stdout()
    let (path, step) = try follow ? newest() : (checkpoint, Self.step(of: checkpoint))
    let engine = PolicyEngine(policy: try VLACheckpoint.load(from: path), trainingStep: step, maxBatch: maxBatch, torchThreads: threads)
    var config = PolicyServerConfig()
    config.host = host
    config.port = port
    config.apiKey = apiKey
    config.maxMessageBytes = maxMessageMib << 20
    config.keys.image = imageKey
    config.keys.wristImage = wristImageKey
    config.keys.useWristImage = useWristImage
    config.keys.state = stateKey
    config.keys.prompt = promptKey
    let server = try await PolicyServer(engine: engine, config: config)
    print("rlinf-serve: \(engine.modelType) K=\(engine.chunk), \(engine.imageSize)x\(engine.imageSize) images, step \(step) (\(path))")
    print("rlinf-serve: listening on ws://\(host):\(server.port)\(apiKey == nil ? "" : " (API key required)")")
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await server.run() }
      if follow {
        tasks.addTask { try await followRun(engine: engine, served: path) }
      }
      try await tasks.next()
      tasks.cancelAll()
    }
  }

  /// The run folder's newest complete checkpoint and its step.
  func newest() throws -> (String, Int) {
    guard let entry = try CheckpointStore(root: checkpoint + "/checkpoints").latest() else {
      throw ValidationError("no complete checkpoint under \(checkpoint)/checkpoints yet")
    }
    return (entry.path, entry.step)
  }

  /// Swaps in each newer checkpoint the job completes.
  func followRun(engine: PolicyEngine, served: String) async throws {
    var current = served
    while !Task.isCancelled {
      try await Task.sleep(for: .seconds(pollSeconds))
      guard let (path, step) = try? newest(), path != current else { continue }
      do {
        try engine.replace(with: try VLACheckpoint.load(from: path), trainingStep: step)
        current = path
        print("rlinf-serve: now serving step \(step) (version \(engine.served.version))")
      } catch {
        print("rlinf-serve: kept the served policy; \(path) did not load: \(error)")
      }
    }
  }

  /// N of a `global_step_N` folder on the path, else 0.
  static func step(of path: String) -> Int {
    for part in path.split(separator: "/").reversed() where part.hasPrefix("global_step_") {
      if let n = Int(part.dropFirst("global_step_".count)) { return n }
    }
    return 0
  }
}
