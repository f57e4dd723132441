import Control
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `start` over the control socket makes the daemon read, write or run nothing its client could
/// not: the client sends the config's text, and the paths inside it stay in the state directory.
@Suite(.serialized) struct StartConfinementTests {
  /// A file only its owner may read, holding a marker that must never come back.
  struct Secret {
    let path: String
    let marker = "secret_marker_" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
    init(in directory: String) throws {
      path = directory + "/private/secret.yaml"
      try FileManager.default.createDirectory(atPath: directory + "/private", withIntermediateDirectories: true)
      // Valid YAML whose only key is the marker: a daemon that parsed it would name the key.
      try "\(marker): 1\n".write(toFile: path, atomically: true, encoding: .utf8)
      // Root reads any file; the unprivileged rlinfctl below is what cannot.
      chmod(path, getuid() == 0 ? 0o600 : 0o000)
    }
  }

  @Test func theDaemonOpensNoFileAClientNames() throws {
    let dir = try temporaryDirectory("rlinfd-confine")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let secret = try Secret(in: dir)
    let daemon = try DaemonProcess(directory: dir, config: nil)

    // The old request shape, a path, is refused without opening it.
    let byPath = try daemon.request(.start, ["config": .string(secret.path)])
    #expect(!byPath.ok && byPath.error!.contains("args.config_text"))
    #expect(!byPath.error!.contains(secret.marker))

    // Paths inside a sent config must stay in the state directory; each refusal names its key.
    let outside = dir + "/outside"
    let confined: [(yaml: String, key: String)] = [
      (DaemonProcess.tinyJob.replacingOccurrences(of: "log_path: runs", with: "log_path: \(outside)"), "runner.logger.log_path"),
      (DaemonProcess.tinyJob.replacingOccurrences(of: "log_path: runs", with: "log_path: runs/../../outside"), "runner.logger.log_path"),
      (DaemonProcess.tinyJob.replacingOccurrences(of: "use_proprio: true", with: "use_proprio: true, model_path: \(dir)/private"), "actor.model.model_path"),
      (DaemonProcess.tinyJob.replacingOccurrences(of: "num_threads: 1}\n  eval", with: "num_threads: 1, worker: {python: /bin/sh}}\n  eval"), "env.train.worker"),
    ]
    for (yaml, key) in confined {
      let reply = try daemon.request(.start, ["config_text": .string(yaml)])
      #expect(!reply.ok && reply.error!.hasPrefix(key + ": a config sent over the control socket"), "\(key): \(reply)")
    }
    #expect(!FileManager.default.fileExists(atPath: outside))
    #expect(try daemon.request(.status).result?["phase"]?.string == "idle")

    // rlinfctl reads the file with its caller's permissions: an unprivileged caller cannot, is
    // told so, and nothing of the file reaches the daemon.
    let ctl = try builtProduct("rlinfctl")
    // A copy in the test's own folder: the checkout may lie where nobody cannot enter.
    let reachable = dir + "/rlinfctl"
    chmod(dir, 0o755)
    try FileManager.default.copyItem(atPath: ctl, toPath: reachable)
    let probe = try Self.runUnprivileged(reachable, ["--help"])
    try #require(probe.status == 0, "rlinfctl cannot run unprivileged here: \(probe.output)")
    let (status, output) = try Self.runUnprivileged(reachable, ["start", secret.path, "--socket", daemon.socket])
    #expect(status != 0)
    #expect(output.contains("cannot read \(secret.path)"))
    #expect(!output.contains(secret.marker) && !daemon.log.contains(secret.marker))

    // A readable config starts: rlinfctl sends its text, the run lands in the state directory.
    try DaemonProcess.tinyJob.replacingOccurrences(of: "max_epochs: 100000", with: "max_epochs: 1")
      .write(toFile: dir + "/mine.yaml", atomically: true, encoding: .utf8)
    let started = try runProgram(ctl, ["start", dir + "/mine.yaml", "--socket", daemon.socket])
    #expect(started.contains("started tiny in \(dir)/runs/tiny"))
    let finished = try daemon.waitForStatus("the started job finishing") { $0["phase"]?.string == "finished" }
    #expect(finished["config"]?.string == "mine.yaml")
    #expect(try daemon.terminate() == 0)
  }

  /// Runs `program` as nobody when the tests run as root (setpriv), else as the caller (the
  /// secret is then mode 000).
  static func runUnprivileged(_ program: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    getuid() == 0
      ? try runCapturing("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", program] + arguments)
      : try runCapturing(program, arguments)
  }
}
