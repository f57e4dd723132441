import Config
import Control
import Foundation

/// Answers control requests from the job controller and the log book.
struct RequestHandler: Sendable {
  let job: JobController
  let book: LogBook
  let startedAt = Date()

  func handle(_ request: ControlRequest, follow: inout Bool) -> ControlResponse {
    guard let command = ControlProtocol.Command(rawValue: request.cmd) else {
      return .failure(request.id, "unknown command \"\(request.cmd)\" (\(ControlProtocol.Command.allCases.map(\.rawValue).joined(separator: ", ")))")
    }
    do {
      return .success(request.id, try answer(command, request.args, follow: &follow))
    } catch {
      return .failure(request.id, "\(error)")
    }
  }

  private func answer(_ command: ControlProtocol.Command, _ args: [String: JSONValue], follow: inout Bool) throws -> JSONValue {
    func string(_ key: String) throws -> String {
      guard let value = args[key]?.string, !value.isEmpty else { throw ControlFailure("\(command.rawValue) needs args.\(key) (a string)") }
      return value
    }
    func count(_ key: String, _ fallback: Int) throws -> Int {
      guard let value = args[key] else { return fallback }
      guard let n = value.number, n >= 0, n <= 100_000, n == n.rounded() else { throw ControlFailure("args.\(key) must be an integer 0...100000") }
      return Int(n)
    }
    switch command {
    case .status:
      guard case .object(var status) = job.status() else { return job.status() }
      status["uptime_seconds"] = .number(Date().timeIntervalSince(startedAt))
      status["pid"] = .number(Double(getpid()))
      status["protocol"] = .number(Double(ControlProtocol.version))
      return .object(status)
    case .start:
      // The daemon never opens a file a client names: it may read what the client cannot.
      guard args["config"] == nil else {
        throw ControlFailure("start takes the config's YAML text in args.config_text, not a path (rlinfctl start FILE reads the file with your permissions)")
      }
      return try job.start(.client(text: try string("config_text"), label: args["config_name"]?.string ?? "the config sent"))
    case .pause: try job.pause(); return .string("pausing after the current iteration")
    case .resume: try job.resume(); return .string("resumed")
    case .stop: try job.stop(); return .string("stopping after the current iteration, with a checkpoint")
    case .checkpoint: try job.requestCheckpoint(); return .string("checkpoint after the current iteration")
    case .eval:
      let split = args["split"]?.string ?? "train"
      try job.requestEval(split: split)
      return .string("evaluating split \(split) after the current iteration (results in the log and metrics)")
    case .set:
      let key = try string("key"), value = try string("value")
      try job.set(key: key, value: value)
      return .string("\(key) = \(value) from the next iteration")
    case .metrics:
      if args["follow"]?.bool == true { follow = true }
      return .array(job.metrics(last: try count("last", follow ? 0 : 1)))
    case .checkpoints: return job.checkpoints()
    case .logs: return .array(book.last(try count("lines", 50)).map(JSONValue.string))
    }
  }
}
