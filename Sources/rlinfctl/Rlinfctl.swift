// rlinfctl: controls a running rlinfd over its Unix socket.
import ArgumentParser
import Control
import Foundation

struct Connection: ParsableArguments {
  @Option(help: "rlinfd's control socket (default: $RLINFD_SOCKET, /run/rlinfd/rlinfd.sock if it exists, else runs/rlinfd.sock).")
  var socket: String?
  @Flag(help: "Print the daemon's JSON response instead of text.") var json = false

  var path: String {
    if let socket { return socket }
    if let env = ProcessInfo.processInfo.environment["RLINFD_SOCKET"], !env.isEmpty { return env }
    return FileManager.default.fileExists(atPath: "/run/rlinfd/rlinfd.sock") ? "/run/rlinfd/rlinfd.sock" : "runs/rlinfd.sock"
  }

  /// Sends one request and prints the answer (`text` renders a successful result).
  func call(_ command: ControlProtocol.Command, _ args: [String: JSONValue] = [:], text: (JSONValue) -> String) throws {
    let client = try ControlClient(socketPath: path)
    let response = try client.request(command, args)
    try show(response, text: text)
  }

  func show(_ response: ControlResponse, text: (JSONValue) -> String) throws {
    if json {
      print(String(decoding: response.line().dropLast(), as: UTF8.self))
    } else if response.ok {
      let rendered = text(response.result ?? .null)
      if !rendered.isEmpty { print(rendered) }
    }
    if !response.ok {
      if !json { FileHandle.standardError.write(Data("rlinfctl: \(response.error ?? "failed")\n".utf8)) }
      throw ExitCode(1)
    }
  }
}

func plain(_ value: JSONValue) -> String {
  switch value {
  case .null: return "-"
  case .bool(let b): return b ? "yes" : "no"
  case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : String(format: "%.4g", n)
  case .string(let s): return s
  case .array(let a): return a.map(plain).joined(separator: "\n")
  case .object(let o): return o.keys.sorted().map { "\($0): \(plain(o[$0]!))" }.joined(separator: "\n")
  }
}

@main
struct Rlinfctl: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rlinfctl", abstract: "Control the rlinf-swift training daemon (rlinfd).",
    subcommands: [Status.self, Start.self, Pause.self, Resume.self, Stop.self, Checkpoint.self, Eval.self, Set.self,
                  Metrics.self, Checkpoints.self, Logs.self])

  struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Job, phase, step, success rates, throughput per stage, placement.")
    @OptionGroup var connection: Connection
    func run() throws {
      try connection.call(.status) { s in
        var lines = ["job: \(plain(s["job"] ?? .null)) (\(plain(s["phase"] ?? .null)))"]
        if let w = s["warm_start"] {
          lines.append("warm start: step \(plain(w["step"] ?? .null))/\(plain(w["steps"] ?? .null)), loss \(plain(w["loss"] ?? .null)), \(plain(w["samples_per_second"] ?? .null)) samples/s, ETA \(plain(s["eta_seconds"] ?? .null)) s")
        }
        lines.append("iteration: \(plain(s["iteration"] ?? .null))/\(plain(s["max_epochs"] ?? .null)), environment steps \(plain(s["environment_steps"] ?? .null)), ETA \(plain(s["eta_seconds"] ?? .null)) s")
        lines.append("success: \(plain(s["success_recent"] ?? .null)) of the last \(plain(s["success_recent_episodes"] ?? .null)) training episodes, last eval: \(plain(s["eval_success_once"] ?? .null))")
        lines.append("throughput: \(plain(s["end_to_end_env_steps_per_second"] ?? .null)) env steps/s end to end (rollout alone \(plain(s["env_steps_per_second"] ?? .null))); last iteration's stage seconds: \(plain(s["stage_seconds"] ?? .null).replacingOccurrences(of: "\n", with: ", "))")
        for line in s["placement"]?.array ?? [] { lines.append("placement: \(plain(line))") }
        if let latest = s["latest_checkpoint"]?.string { lines.append("latest checkpoint: \(latest)") }
        if let rank = s["rank"], let world = s["world_size"] {
          lines.append("rank: \(plain(rank)) of \(plain(world))\(rank.number == 0 ? " (speaks for the job)" : "; control the job through rank 0")")
        }
        for r in s["ranks"]?.array ?? [] {
          let field = { (key: String) in plain(r[key] ?? .null) }
          lines.append("  rank \(field("rank")): environment steps \(field("environment_steps")), success \(field("success_recent")), \(field("end_to_end_env_steps_per_second")) env steps/s end to end (rollout alone \(field("env_steps_per_second"))), iteration \(field("step_seconds")) s (actor \(field("actor_seconds")) s)")
        }
        if let v = s["serve"] {
          let field = { (key: String) in plain(v[key] ?? .null) }
          lines.append("serving: \(field("address")) (\(field("weights")) weights, version \(field("policy_version")), step \(field("training_step"))), \(field("clients")) clients, \(field("requests")) replies, \(field("refusals")) refused, latency p50 \(field("latency_p50_ms")) ms, p99 \(field("latency_p99_ms")) ms")
          for c in v["client_list"]?.array ?? [] {
            lines.append("  client \(plain(c["address"] ?? .null)): \(plain(c["requests"] ?? .null)) replies, latency p50 \(plain(c["latency_p50_ms"] ?? .null)) ms, p99 \(plain(c["latency_p99_ms"] ?? .null)) ms")
          }
        }
        if let error = s["error"]?.string { lines.append("error: \(error)") }
        return lines.joined(separator: "\n")
      }
    }
  }

  struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start a job from a YAML config (it resumes from its newest checkpoint).")
    @OptionGroup var connection: Connection
    @Argument(help: "The job's YAML config.") var config: String
    func run() throws {
      // Read here, with the caller's permissions: the daemon never opens a path a client names.
      guard let data = FileManager.default.contents(atPath: config) else {
        throw ValidationError("cannot read \(config): \(FileManager.default.fileExists(atPath: config) ? "permission denied" : "no such file")")
      }
      guard let text = String(data: data, encoding: .utf8) else { throw ValidationError("\(config) is not UTF-8 text") }
      guard data.count <= ControlProtocol.maxConfigBytes else {
        throw ValidationError("\(config) has \(data.count) bytes; a config sent to rlinfd may have at most \(ControlProtocol.maxConfigBytes)")
      }
      try connection.call(.start, ["config_text": .string(text), "config_name": .string(URL(fileURLWithPath: config).lastPathComponent)]) {
        "started \(plain($0["job"] ?? .null)) in \(plain($0["directory"] ?? .null))"
      }
    }
  }

  struct Pause: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Pause training after the current iteration.")
    @OptionGroup var connection: Connection
    func run() throws { try connection.call(.pause, text: plain) }
  }

  struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Resume a paused job.")
    @OptionGroup var connection: Connection
    func run() throws { try connection.call(.resume, text: plain) }
  }

  struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop the job after the current iteration, writing a checkpoint.")
    @OptionGroup var connection: Connection
    func run() throws { try connection.call(.stop, text: plain) }
  }

  struct Checkpoint: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a checkpoint after the current iteration.")
    @OptionGroup var connection: Connection
    func run() throws { try connection.call(.checkpoint, text: plain) }
  }

  struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate the policy after the current iteration.")
    @OptionGroup var connection: Connection
    @Argument(help: "Split: train, vision, semantic, execution.") var split = "train"
    func run() throws { try connection.call(.eval, ["split": .string(split)], text: plain) }
  }

  struct Set: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Change a live-tunable key: actor.optim.lr, actor.optim.value_lr, algorithm.entropy_bonus, algorithm.sampling_params.temperature_train, algorithm.sampling_params.temperature_eval, runner.val_check_interval, runner.save_interval, runner.max_epochs.")
    @OptionGroup var connection: Connection
    @Argument(help: "KEY=VALUE") var assignment: String
    func run() throws {
      guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
        throw ValidationError("expected KEY=VALUE, got \(assignment)")
      }
      let key = String(assignment[..<equals]), value = String(assignment[assignment.index(after: equals)...])
      try connection.call(.set, ["key": .string(key), "value": .string(value)], text: plain)
    }
  }

  struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The latest iteration's metrics, or every new one with --follow.")
    @OptionGroup var connection: Connection
    @Flag(help: "Keep printing each new iteration's metrics.") var follow = false
    @Option(help: "How many recent iterations to print.") var last = 1
    func run() throws {
      let client = try ControlClient(socketPath: connection.path)
      let first = try client.request(.metrics, ["last": .number(Double(last)), "follow": .bool(follow)])
      try connection.show(first) { $0.array?.map(Self.line).joined(separator: "\n") ?? "" }
      while follow {
        try connection.show(try client.readResponse()) { Self.line($0) }
      }
    }

    static func line(_ entry: JSONValue) -> String {
      let metrics = entry["metrics"]?.object ?? [:]
      return "step \(plain(entry["step"] ?? .null)): " + metrics.keys.sorted().map { "\($0)=\(plain(metrics[$0]!))" }.joined(separator: " ")
    }
  }

  struct Checkpoints: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the job's complete checkpoints.")
    @OptionGroup var connection: Connection
    func run() throws {
      try connection.call(.checkpoints) { list in
        (list.array ?? []).map { c in
          let marks = [c["latest"]?.bool == true ? "latest" : nil, c["best"]?.bool == true ? "best" : nil].compactMap { $0 }
          return "step \(plain(c["step"] ?? .null))  \(plain(c["path"] ?? .null))  eval \(plain(c["eval_success_once"] ?? .null))"
            + (marks.isEmpty ? "" : "  (" + marks.joined(separator: ", ") + ")")
        }.joined(separator: "\n")
      }
    }
  }

  struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The daemon's recent log lines.")
    @OptionGroup var connection: Connection
    @Option(help: "How many lines.") var lines = 50
    func run() throws { try connection.call(.logs, ["lines": .number(Double(lines))], text: plain) }
  }
}
