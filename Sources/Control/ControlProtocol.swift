import Foundation

/// The rlinfd control protocol, version 1: newline-delimited JSON over a Unix stream socket.
///
/// A client sends one request per line (at most `maxLineBytes` bytes):
///
///     {"v": 1, "id": 7, "cmd": "set", "args": {"key": "actor.optim.lr", "value": "1e-4"}}
///
/// and gets one response line with the same id:
///
///     {"v": 1, "id": 7, "ok": true, "result": {...}}
///     {"v": 1, "id": 7, "ok": false, "error": "unknown command \"sett\""}
///
/// `metrics` with `"follow": true` keeps the connection open and sends one response line per
/// training iteration (`result.step`, `result.metrics`) until the client closes it. Requests of
/// another version, unknown commands, bad arguments, malformed or oversized lines get an error
/// response (an oversized line also closes the connection).
public enum ControlProtocol {
  public static let version = 1
  public static let maxLineBytes = 64 * 1024
  /// The largest config text `start` carries (its JSON escaping must fit in one line).
  public static let maxConfigBytes = 48 * 1024

  /// The commands and what they do (also `rlinfctl --help`).
  public enum Command: String, CaseIterable, Sendable {
    /// The job, its phase, step, success rates, throughput per stage, placement.
    case status
    /// Starts a job when none is running, from a YAML config's text (`args.config_text`, read by
    /// the client; `args.config_name` names it in status and errors). The daemon opens no file a
    /// client names, and the config's own paths must lie inside its state directory.
    case start
    /// Pauses training after the current iteration / resumes it.
    case pause, resume
    /// Stops the job after the current iteration, writing a checkpoint.
    case stop
    /// Writes a checkpoint after the current iteration.
    case checkpoint
    /// Evaluates after the current iteration (`args.split`: train, vision, semantic, execution).
    case eval
    /// Changes a live-tunable key (`args.key`, `args.value`).
    case set
    /// The last metrics (`args.last`), or every new iteration's with `args.follow`.
    case metrics
    /// The job's complete checkpoints.
    case checkpoints
    /// The daemon's recent log lines (`args.lines`).
    case logs
  }
}

public struct ControlRequest: Codable, Sendable, Equatable {
  public var v: Int
  public var id: Int
  public var cmd: String
  public var args: [String: JSONValue]

  public init(id: Int, cmd: ControlProtocol.Command, args: [String: JSONValue] = [:]) {
    v = ControlProtocol.version
    self.id = id
    self.cmd = cmd.rawValue
    self.args = args
  }

  enum CodingKeys: String, CodingKey { case v, id, cmd, args }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    v = try c.decode(Int.self, forKey: .v)
    id = try c.decodeIfPresent(Int.self, forKey: .id) ?? 0
    cmd = try c.decode(String.self, forKey: .cmd)
    args = try c.decodeIfPresent([String: JSONValue].self, forKey: .args) ?? [:]
  }
}

public struct ControlResponse: Codable, Sendable, Equatable {
  public var v = ControlProtocol.version
  public var id: Int
  public var ok: Bool
  public var result: JSONValue?
  public var error: String?

  public static func success(_ id: Int, _ result: JSONValue = .null) -> ControlResponse {
    ControlResponse(id: id, ok: true, result: result, error: nil)
  }

  public static func failure(_ id: Int, _ error: String) -> ControlResponse {
    ControlResponse(id: id, ok: false, result: nil, error: error)
  }

  /// The response as one line (with its newline).
  public func line() -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return ((try? encoder.encode(self)) ?? Data(#"{"ok":false,"error":"unencodable response"}"#.utf8)) + Data("\n".utf8)
  }
}
