import Foundation
import TestSupport
import Testing

/// Two rlinfd processes as the two ranks of one data-parallel job (torchrun's variables, Gloo on
/// loopback), sharing one run folder.
@Suite(.serialized) struct DaemonRanksTests {
  /// The tiny job with both ranks' files in `runs` and collectives that give up after 10 s.
  static func job(runs: String) -> String {
    DaemonProcess.tinyJob.replacingOccurrences(of: "log_path: runs", with: "log_path: \(runs)")
      + "\ncluster: {collective_timeout: 10}\n"
  }

  static func ranks(_ dir: String, runs: String, port: Int, extra: String = "") throws -> [DaemonProcess] {
    try (0..<2).map { rank in
      let state = dir + "/rank\(rank)"
      try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
      return try DaemonProcess(
        directory: state, config: job(runs: runs) + extra,
        environment: ["RANK": "\(rank)", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "\(port)"])
    }
  }

  /// Killing rank 1 mid-training stops rank 0's job within the timeout with an error naming
  /// rank 0 and the collective, and rank 0's daemon still answers; both started again resume
  /// from the newest checkpoint.
  @Test func aKilledRankStopsTheOtherAndBothResume() throws {
    let dir = try temporaryDirectory("daemon-ranks")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let runs = dir + "/runs"
    var ranks = try Self.ranks(dir, runs: runs, port: try unusedLocalPort())
    try ranks[0].waitForStatus(timeout: 180, "two iterations on two ranks") { ranks[0].iteration($0) >= 2 }
    ranks[1].kill9()
    let killed = Date()
    let failed = try ranks[0].waitForStatus(timeout: 60, "rank 0's job failed") { $0["error"]?.string != nil }
    let error = failed["error"]!.string!
    #expect(Date().timeIntervalSince(killed) < 40, "10 s timeout, and slack for a busy machine")
    #expect(error.contains("rank 0 of 2: "), "\(error)")
    #expect(try ranks[0].request(.status).result?["error"]?.string == error, "the daemon stays controllable")
    ranks[0].kill9()

    let latest = try String(contentsOfFile: runs + "/tiny/checkpoints/latest", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    let step = Int(latest.split(separator: "_").last!)!
    #expect(step >= 1)
    ranks = try Self.ranks(dir, runs: runs, port: try unusedLocalPort())
    for rank in ranks {
      try rank.waitForLog(timeout: 180, "resumed from the newest checkpoint") { $0.contains("resumed from \(runs)/tiny/checkpoints/\(latest) (iteration \(step))") }
    }
    try ranks[0].waitForStatus(timeout: 180, "an iteration after the resume") { ranks[0].iteration($0) > step }
    for rank in ranks { rank.kill9() }
  }

  /// A rank that hangs (stopped, its sockets open): rank 0's job fails at the collective
  /// timeout, not before and not never.
  @Test func aHungRankStopsTheOtherAtTheTimeout() throws {
    let dir = try temporaryDirectory("daemon-ranks-hang")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let ranks = try Self.ranks(dir, runs: dir + "/runs", port: try unusedLocalPort())
    defer { for rank in ranks { kill(rank.process.processIdentifier, SIGCONT); rank.kill9() } }
    try ranks[0].waitForStatus(timeout: 180, "an iteration on two ranks") { ranks[0].iteration($0) >= 1 }
    kill(ranks[1].process.processIdentifier, SIGSTOP)
    let stopped = Date()
    let failed = try ranks[0].waitForStatus(timeout: 90, "rank 0's job failed") { $0["error"]?.string != nil }
    let waited = Date().timeIntervalSince(stopped)
    #expect(waited > 2 && waited < 60, "collective_timeout is 10 s; waited \(waited) s")
    #expect(failed["error"]!.string!.contains("rank 0 of 2: "), "\(failed["error"]!)")
  }

  /// `serve` on a fixed port: rank 0 serves the job's policy there and rank 1 serves nothing
  /// (it would fight rank 0 for the port), and both ranks train.
  @Test func onlyRankZeroServesThePolicy() throws {
    let dir = try temporaryDirectory("daemon-ranks-serve")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let servePort = try unusedLocalPort()
    let ranks = try Self.ranks(
      dir, runs: dir + "/runs", port: try unusedLocalPort(), extra: "serve: {enabled: true, port: \(servePort)}\n")
    defer { for rank in ranks { rank.kill9() } }
    let leader = try ranks[0].waitForStatus(timeout: 180, "rank 0 training and serving") { ranks[0].iteration($0) >= 2 }
    #expect(leader["serve"]?["address"]?.string == "ws://127.0.0.1:\(servePort)")
    let follower = try ranks[1].waitForStatus(timeout: 60, "rank 1 training") { ranks[1].iteration($0) >= 2 }
    #expect(follower["serve"] == nil || follower["serve"] == .null, "\(String(describing: follower["serve"]))")
    #expect(follower["error"] == nil || follower["error"] == .null)
  }

  /// Rank 0's control socket speaks for the job: its status lists every rank; the other rank
  /// refuses the commands rank 0 takes; a pause holds both ranks past the collective timeout; a
  /// checkpoint and a live change asked for while paused reach both ranks; a stop sent to rank 1
  /// stops both at the same iteration.
  @Test func rankZeroControlsEveryRank() throws {
    let dir = try temporaryDirectory("daemon-ranks-control")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let runs = dir + "/runs"
    let ranks = try Self.ranks(dir, runs: runs, port: try unusedLocalPort())
    defer { for rank in ranks { rank.kill9() } }
    let training = try ranks[0].waitForStatus(timeout: 180, "an iteration on two ranks") { ranks[0].iteration($0) >= 1 }
    let lines = training["ranks"]?.array ?? []
    #expect(lines.map { $0["rank"]?.number } == [0, 1], "\(training)")
    #expect(lines.allSatisfy { ($0["env_steps_per_second"]?.number ?? 0) > 0 && ($0["environment_steps"]?.number ?? 0) > 0 })
    #expect(training["world_size"]?.number == 2)
    let text = try runProgram(try builtProduct("rlinfctl"), ["status", "--socket", ranks[0].socket])
    #expect(text.contains("rank: 0 of 2 (speaks for the job)") && text.contains("\n  rank 1: environment steps "), "\(text)")

    let refused = try ranks[1].request(.pause)
    #expect(!refused.ok && refused.error!.contains("rank 1 of 2") && refused.error!.contains("rank 0"), "\(refused)")
    #expect(try !ranks[1].request(.checkpoint).ok)

    #expect(try ranks[0].request(.pause).ok)
    let paused = try ranks[0].waitForStatus("rank 0 paused") { $0["phase"]?.string == "paused" }
    let at = ranks[0].iteration(paused)
    try ranks[1].waitForStatus("rank 1 paused at the same iteration") { $0["phase"]?.string == "paused" && ranks[1].iteration($0) == at }
    // Longer than the 10 s collective timeout: rank 0 keeps rank 1 waiting, neither fails.
    let until = Date().addingTimeInterval(13)
    while Date() < until {
      for rank in ranks {
        let status = try rank.request(.status).result!
        #expect(status["phase"]?.string == "paused" && rank.iteration(status) == at && status["error"] == .null, "\(status)")
      }
      usleep(500_000)
    }
    #expect(try ranks[0].request(.set, ["key": .string("actor.optim.lr"), "value": .string("1.5e-5")]).ok)
    #expect(try ranks[0].request(.checkpoint).ok)
    for rank in ranks {
      try rank.waitForLog("the live change on both ranks") { $0.contains("set actor.optim.lr = 1.5e-5") }
      try rank.waitForLog("the requested checkpoint on both ranks") { $0.contains("checkpoint of iteration \(at) requested") }
    }
    #expect(try ranks[0].request(.resume).ok)
    try ranks[0].waitForStatus("training again") { ranks[0].iteration($0) > at + 1 }
    let metrics = try ranks[0].request(.metrics, ["last": .number(1)]).result!.array!.last!
    #expect(metrics["metrics"]?["train/actor/lr"]?.number == 1.5e-5)

    #expect(try ranks[1].request(.stop).ok)
    var finished: [Int] = []
    for rank in ranks {
      let status = try rank.waitForStatus("finished") { $0["phase"]?.string == "finished" }
      #expect(status["error"] == .null)
      finished.append(rank.iteration(status))
    }
    #expect(finished[0] == finished[1] && finished[0] > at + 1, "\(finished)")
  }
}
