import Checkpoints
import Control
import Foundation
import Models
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The real rlinfd binary, driven through its socket and rlinfctl.
@Suite(.serialized) struct DaemonTests {
  /// Every control command end to end, a live change taking effect, and a clean SIGTERM.
  @Test func controlCommandsEndToEnd() throws {
    let dir = try temporaryDirectory("rlinfd-e2e")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let daemon = try DaemonProcess(directory: dir)
    try daemon.waitForStatus("two iterations") { daemon.iteration($0) >= 2 }

    // rlinfctl itself: text and --json.
    let ctl = try builtProduct("rlinfctl")
    let text = try runProgram(ctl, ["status", "--socket", daemon.socket])
    #expect(text.contains("job: tiny (training)") && text.contains("placement: mode collocated"))
    let json = try runProgram(ctl, ["status", "--socket", daemon.socket, "--json"])
    let parsed = try JSONDecoder().decode(ControlResponse.self, from: Data(json.utf8))
    #expect(parsed.ok && parsed.result?["phase"]?.string == "training")

    // Pause: the loop stops between iterations. A checkpoint asked for while paused wakes it;
    // it writes the checkpoint and must go back to the pause (logged a second time) instead of
    // training on. Resume: the iterations move again.
    #expect(try daemon.request(.pause).ok)
    let paused = try daemon.waitForStatus("paused") { $0["phase"]?.string == "paused" }
    let pausedLine = "paused at iteration \(daemon.iteration(paused))"
    #expect(try daemon.request(.checkpoint).ok)
    try daemon.waitForLog("paused again after the checkpoint") { $0.components(separatedBy: pausedLine).count - 1 == 2 }
    let still = try daemon.request(.status).result!
    #expect(daemon.iteration(still) == daemon.iteration(paused) && still["phase"]?.string == "paused")
    #expect(daemon.log.contains("checkpoint of iteration \(daemon.iteration(paused)) requested"))

    // A live change is checked at once and applied between iterations; others are refused.
    #expect(try daemon.request(.set, ["key": .string("actor.optim.lr"), "value": .string("1.5e-5")]).ok)
    let refused = try daemon.request(.set, ["key": .string("env.train.total_num_envs"), "value": .string("8")])
    #expect(!refused.ok && refused.error!.contains("not live-tunable"))
    let bad = try daemon.request(.set, ["key": .string("actor.optim.lr"), "value": .string("-1")])
    #expect(!bad.ok && bad.error!.contains("actor.optim.lr"))
    #expect(try daemon.request(.resume).ok)
    try daemon.waitForStatus("resumed") { daemon.iteration($0) > daemon.iteration(paused) + 1 }
    let recent = try daemon.request(.metrics, ["last": .number(1)]).result!.array!.last!
    #expect(recent["metrics"]?["train/actor/lr"]?.number == 1.5e-5)

    // Checkpoint and evaluation on request.
    let before = daemon.iteration(try daemon.request(.status).result!)
    #expect(try daemon.request(.checkpoint).ok)
    #expect(try daemon.request(.eval, ["split": .string("vision")]).ok)
    #expect(try !daemon.request(.eval, ["split": .string("mars")]).ok)
    try daemon.waitForStatus("evaluated") { $0["eval_success_once"] != .null && daemon.iteration($0) > before + 1 }
    let checkpoints = try daemon.request(.checkpoints).result!.array!
    #expect(!checkpoints.isEmpty && checkpoints.contains { $0["latest"]?.bool == true })
    let logs = try daemon.request(.logs, ["lines": .number(200)]).result!.array!.compactMap(\.string)
    #expect(logs.contains { $0.contains("eval vision: success") })
    let tables = try FileManager.default.contentsOfDirectory(atPath: dir + "/runs/tiny/eval")
    #expect(tables.contains { $0.hasSuffix("_vision.md") } && tables.contains { $0.hasSuffix("_vision.json") })
    #expect(logs.contains { $0.contains("set actor.optim.lr = 1.5e-5") })

    // metrics --follow streams each new iteration.
    let follower = try daemon.client()
    #expect(try follower.request(.metrics, ["follow": .bool(true)]).ok)
    let first = try follower.readResponse(), second = try follower.readResponse()
    let steps = [first, second].compactMap { $0.result?["step"]?.number }
    #expect(steps.count == 2 && steps[1] > steps[0])

    // Starting a second job while one runs is refused before its config is parsed (this one is
    // not even YAML); SIGTERM finishes with a checkpoint.
    let secondStart = try daemon.request(.start, ["config_text": .string("runner: [unclosed")])
    #expect(!secondStart.ok && secondStart.error!.contains("stop it first"))
    let last = daemon.iteration(try daemon.request(.status).result!)
    #expect(try daemon.terminate() == 0)
    let store = try CheckpointStore(root: dir + "/runs/tiny/checkpoints")
    #expect((store.latest()?.step ?? 0) >= last)
    #expect(daemon.log.contains("rlinfd stopped"))
  }

  /// During the SFT warm start, status shows its step, loss and ETA (text and JSON); a stop ends
  /// the warm start before its last step, leaving no checkpoint that looks finished.
  @Test func warmStartReportsProgressAndStops() throws {
    let dir = try temporaryDirectory("rlinfd-warm")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let job = DaemonProcess.tinyJob + "\nsft: {enabled: true, episodes_per_task: 2, steps: 1000000, batch_size: 4}\n"
    let daemon = try DaemonProcess(directory: dir, config: job)
    let status = try daemon.waitForStatus("a warm-start step") { ($0["warm_start"]?["step"]?.number ?? 0) >= 50 }
    #expect(status["phase"]?.string == "sft_warm_start")
    #expect(status["warm_start"]?["steps"]?.number == 1_000_000)
    #expect((status["warm_start"]?["loss"]?.number ?? .nan).isFinite)
    #expect((status["eta_seconds"]?.number ?? 0) > 0, "the ETA of the warm start")
    let text = try runProgram(try builtProduct("rlinfctl"), ["status", "--socket", daemon.socket])
    #expect(text.contains("warm start: step") && text.contains("/1000000"), "\(text)")
    #expect(try daemon.request(.stop).ok)
    try daemon.waitForStatus("stopped") { $0["phase"]?.string == "finished" }
    #expect(daemon.log.contains("stopped before step"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/runs/tiny/sft/checkpoint"))
    #expect(try daemon.terminate() == 0)
  }

  /// Only the daemon's user, root or its group may control it: a connection from another user
  /// (the socket made world-writable to let it connect) gets "permission denied".
  @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
  func socketRefusesOtherUsers() throws {
    let dir = try temporaryDirectory("rlinfd-perm")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    chmod(dir, 0o755)
    let daemon = try DaemonProcess(directory: dir, config: nil)
    _ = try daemon.client()
    var mode = stat()
    stat(daemon.socket, &mode)
    #expect(mode.st_mode & 0o777 == 0o660)
    let ctl = try builtProduct("rlinfctl")
    let args = ["--reuid=65534", "--regid=65534", "--clear-groups", ctl, "status", "--socket", daemon.socket]
    // Mode 0660: another user cannot even connect.
    #expect(throws: TestSupportError.self) { try runProgram("/usr/bin/setpriv", args) }
    chmod(daemon.socket, 0o666)
    do {
      try runProgram("/usr/bin/setpriv", args)
      Issue.record("a foreign user controlled the daemon")
    } catch {
      #expect("\(error)".contains("permission denied"))
    }
    #expect(try daemon.request(.status).ok)  // its own user still can
    #expect(try daemon.terminate() == 0)
  }

  /// Thousands of malformed, oversized, unknown and abandoned requests, and a client that stops
  /// reading: each gets an error or is dropped, the daemon stays healthy and training goes on.
  @Test func fuzzedRequestsLeaveTheDaemonHealthy() throws {
    let dir = try temporaryDirectory("rlinfd-fuzz")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let daemon = try DaemonProcess(directory: dir)
    try daemon.waitForStatus("training") { daemon.iteration($0) >= 1 }
    // A follower that never reads: the daemon must drop it rather than stall.
    let stuck = try daemon.client()
    try stuck.send(ControlRequest(id: 1, cmd: .metrics, args: ["follow": .bool(true)]))

    var rng = SystemRandomNumberGenerator()
    let samples: [String] = [
      "{", "null", "[]", "{\"v\":1}", "{\"v\":2,\"id\":1,\"cmd\":\"status\"}", "{\"v\":1,\"id\":1,\"cmd\":\"launch\"}",
      "{\"v\":1,\"id\":1,\"cmd\":\"set\",\"args\":{\"key\":5}}", "{\"v\":1,\"id\":1,\"cmd\":\"metrics\",\"args\":{\"last\":-3}}",
      "{\"v\":1,\"id\":1,\"cmd\":\"start\",\"args\":{\"config\":\"relative.yaml\"}}", "{\"v\":\"one\",\"cmd\":\"status\"}",
      "{\"v\":1,\"id\":1,\"cmd\":\"logs\",\"args\":{\"lines\":1e9}}", "\u{0}\u{1}\u{2}",
    ]
    var answered = 0, errors = 0
    for round in 0..<3000 {
      let client = try daemon.client()
      var line: Data
      switch round % 4 {
      case 0: line = Data(samples[Int.random(in: 0..<samples.count, using: &rng)].utf8)
      case 1:
        // Random bytes after a non-blank one: a blank line is skipped by the daemon, unanswered.
        line = Data([UInt8(ascii: "#")] + (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }.filter { $0 != 10 })
      case 2: line = Data(#"{"v":1,"id":7,"cmd":"status"}"#.utf8)
      default: line = Data(repeating: UInt8(ascii: "a"), count: round % 40 == 3 ? 100_000 : 10)
      }
      if round % 9 == 0 {
        try client.sendRaw(line.prefix(line.count / 2))  // abandoned mid-request
        continue
      }
      try client.sendRaw(line + Data("\n".utf8))
      let response = try client.readResponse()
      answered += 1
      if !response.ok { errors += 1 }
    }
    #expect(answered > 2500 && errors > 1500)
    let status = try daemon.request(.status)
    #expect(status.ok && status.result?["phase"]?.string == "training")
    let now = daemon.iteration(status.result!)
    try daemon.waitForStatus("training goes on") { daemon.iteration($0) > now + 2 }
    #expect(daemon.log.contains("bad control request"))
    #expect(try daemon.terminate() == 0)
  }

  /// kill -9 at random moments and, every other round, inside a checkpoint write (confirmed):
  /// every restart resumes from the newest complete checkpoint, which always loads.
  @Test func killNineThenResume() throws {
    let dir = try temporaryDirectory("rlinfd-kill")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var rng = SystemRandomNumberGenerator()
    var resumedSteps: [Int] = []
    var halfWritten: [String] = []
    for round in 0..<5 {
      let daemon = try DaemonProcess(directory: dir)
      if round > 0 {
        // The log says where it resumed; that is the newest complete checkpoint.
        let store = try CheckpointStore(root: dir + "/runs/tiny/checkpoints")
        let latest = try #require(store.latest())
        let status = try daemon.waitForStatus("resumed") { $0["phase"]?.string == "training" }
        #expect(daemon.log.contains("resumed from \(latest.path) (iteration \(latest.step))"))
        #expect(daemon.iteration(status) >= latest.step)
        resumedSteps.append(latest.step)
      }
      try daemon.waitForStatus("an iteration") { daemon.iteration($0) >= 1 + (resumedSteps.last ?? 0) }
      if round % 2 == 1 {
        // Confirmed inside a checkpoint write: the half-written folder is there after the kill.
        let root = dir + "/runs/tiny/checkpoints"
        let half = try daemon.killDuringCheckpointWrite(root: root)
        #expect(FileManager.default.fileExists(atPath: root + "/" + half))
        halfWritten.append(half)
      } else {
        usleep(UInt32.random(in: 100_000...900_000, using: &rng))
        daemon.kill9()
      }
      let store = try CheckpointStore(root: dir + "/runs/tiny/checkpoints")
      for entry in store.list() {
        let policy = try VLACheckpoint.load(from: entry.path)  // never a half-written one
        #expect(policy.parameterCount > 0)
      }
    }
    #expect(resumedSteps == resumedSteps.sorted() && resumedSteps.count == 4)
    #expect(halfWritten.count == 2)
    // The last round's restart cleared the half-written folders (the daemon removes them on start).
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir + "/runs/tiny/checkpoints").filter { $0.hasPrefix(".tmp-") }
    #expect(leftovers.allSatisfy { !halfWritten.contains($0) })
  }

  /// Checkpoint writes that fail (a 2 MB file-size limit, like a full disk) are reported, the
  /// previous checkpoint stays the valid latest, and training continues.
  @Test func failedCheckpointWritesDoNotStopTraining() throws {
    let dir = try temporaryDirectory("rlinfd-full")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    do {
      let first = try DaemonProcess(directory: dir)
      try first.waitForStatus("a checkpoint") { status in status["latest_checkpoint"] != nil }
      #expect(try first.terminate() == 0)
    }
    let store = try CheckpointStore(root: dir + "/runs/tiny/checkpoints")
    let valid = try #require(store.latest())
    let daemon = try DaemonProcess(directory: dir, limitFileKB: 2048)
    try daemon.waitForStatus("training on") { daemon.iteration($0) >= valid.step + 3 }
    #expect(daemon.log.contains("checkpoint of step \(valid.step + 1) failed; the previous one stays valid"))
    #expect(try daemon.terminate() == 0)
    #expect(store.latest()?.step == valid.step)
    _ = try VLACheckpoint.load(from: valid.path)
  }

  @Test func configErrorsNameTheKey() throws {
    let dir = try temporaryDirectory("rlinfd-config")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let broken = DaemonProcess.tinyJob.replacingOccurrences(of: "algorithm: {adv_type: gae}", with: "algorithm: {adv_type: gae, clip_ratio_hihg: 3}")
    // At launch: rlinfd exits non-zero, naming the key.
    let daemon = try DaemonProcess(directory: dir, config: "runner: {max_epochs: 0}\n")
    daemon.process.waitUntilExit()
    #expect(daemon.process.terminationStatus != 0)
    #expect(daemon.log.contains("runner.max_epochs"))
    // Over the socket: the start request is refused with the key.
    try FileManager.default.createDirectory(atPath: dir + "/idle", withIntermediateDirectories: true)
    let idle = try DaemonProcess(directory: dir + "/idle", config: nil)
    let reply = try idle.request(.start, ["config_text": .string(broken), "config_name": .string("broken.yaml")])
    #expect(!reply.ok && reply.error!.contains("algorithm.clip_ratio_hihg: unknown key (in broken.yaml)"))
    // A wrong value is named by its key and line, not quoted.
    let wrong = try idle.request(.start, ["config_text": .string("runner: {max_epochs: many}\n")])
    #expect(!wrong.ok && wrong.error! == "runner.max_epochs: expected an integer, found a scalar at line 1 (in the config sent)")
    #expect(try idle.terminate() == 0)
  }

  /// A one-shot run (`--exit-when-done`, as `make run`) whose job fails after launch exits
  /// non-zero, so the caller stops instead of going on as if it had trained.
  @Test func aFailedJobEndsAOneShotRunNonZero() throws {
    let dir = try temporaryDirectory("rlinfd-failed")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let missing = dir + "/no-such-checkpoint"
    let job = DaemonProcess.tinyJob.replacingOccurrences(of: "model: {num_action_chunks: 2", with: "model: {model_path: \(missing), num_action_chunks: 2")
    let daemon = try DaemonProcess(directory: dir, config: job, arguments: ["--exit-when-done"])
    daemon.process.waitUntilExit()
    #expect(daemon.process.terminationStatus == 1)
    #expect(daemon.log.contains("job tiny failed") && daemon.log.contains(missing))
  }
}

/// rlinfd serves the training policy over openpi's protocol while the job trains: the real
/// openpi-client gets actions, and the version and step it is told follow the iterations.
@Suite(.serialized) struct DaemonServingTests {
  func once(port: Int) throws -> [String: Any] {
    let out = try temporaryDirectory("openpi-once") + "/reply.json"
    try runPython(repositoryRoot + "/Tests/ServeTests/Reference/openpi_probe.py", ["once", String(port), out])
    return try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])
  }

  @Test func servesTheTrainingPolicyToOpenpiClients() throws {
    let dir = try temporaryDirectory("rlinfd-serve")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let daemon = try DaemonProcess(directory: dir, config: DaemonProcess.tinyJob + "\nserve: {enabled: true, port: 0}\n")
    let status = try daemon.waitForStatus("serving") { $0["serve"] != nil && daemon.iteration($0) >= 1 }
    let address = try #require(status["serve"]?["address"]?.string)
    let port = try #require(Int(address.split(separator: ":").last ?? ""))
    #expect(address.hasPrefix("ws://127.0.0.1:") && status["serve"]?["weights"]?.string == "rollout")

    let first = try once(port: port)
    #expect(first["shape"] as? [Int] == [2, 7] && first["dtype"] as? String == "<f4")
    let (version, step) = (try #require(first["version"] as? Int), try #require(first["step"] as? Int))
    // Two more iterations: the served weights follow them.
    try daemon.waitForStatus("two more iterations") { daemon.iteration($0) >= step + 2 }
    let later = try once(port: port)
    #expect(try #require(later["version"] as? Int) > version)
    #expect(try #require(later["step"] as? Int) >= step + 2)

    let text = try runProgram(try builtProduct("rlinfctl"), ["status", "--socket", daemon.socket])
    #expect(text.contains("serving: \(address) (rollout weights") && text.contains("replies"))
    let served = try #require(try daemon.request(.status).result?["serve"])
    #expect((served["requests"]?.number ?? 0) >= 2)
    #expect(try daemon.terminate() == 0)
    #expect(daemon.log.contains("policy server closed"))
  }
}
