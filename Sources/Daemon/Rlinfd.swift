// rlinfd: the continuous-training daemon. Runs training jobs from YAML configs and takes
// commands over a Unix socket (see rlinfctl, and Sources/Control for the protocol).
import ArgumentParser
import CSys
import Foundation
import Logging
import ServiceLifecycle

@main
struct Rlinfd: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rlinfd", abstract: "The rlinf-swift training daemon: runs RL jobs, controlled with rlinfctl over a Unix socket.")

  @Option(help: "Control socket path (default: $RUNTIME_DIRECTORY/rlinfd.sock under systemd, else runs/rlinfd.sock).")
  var socket: String?
  @Option(help: "Where jobs write runs when their log_path is relative (default: $STATE_DIRECTORY under systemd, else the current folder).")
  var stateDir: String?
  @Option(help: "Start this job config at launch (it resumes from its newest checkpoint).")
  var config: String?
  @Option(help: "A group whose members may also use the control socket.")
  var group: String?
  @Flag(help: "Exit when the job finishes (for one-shot runs such as `make run`), with status 1 if it failed.")
  var exitWhenDone = false

  func run() async throws {
    csys_line_buffered_stdout()
    // A file-size limit (ulimit -f) must fail a checkpoint write with EFBIG, not kill the daemon.
    signal(SIGXFSZ, SIG_IGN)
    // Flat memory over days (tools/soak): two malloc arenas for all the stage threads.
    csys_limit_malloc_arenas(2)
    let environment = ProcessInfo.processInfo.environment
    let book = LogBook()
    LoggingSystem.bootstrap { _ in BookLogHandler(book: book) }
    let logger = Logger(label: "rlinfd")
    let state = stateDir ?? environment["STATE_DIRECTORY"] ?? FileManager.default.currentDirectoryPath
    let socketPath = socket ?? environment["RUNTIME_DIRECTORY"].map { $0 + "/rlinfd.sock" } ?? "runs/rlinfd.sock"
    var groupID: gid_t?
    if let group {
      guard let entry = getgrnam(group) else { throw ValidationError("unknown group \(group)") }
      groupID = entry.pointee.gr_gid
    }
    let notifier = SystemdNotifier()
    let (finished, finish) = AsyncStream<Void>.makeStream()
    let exitWhenDone = self.exitWhenDone
    let serverBox = ServerBox()
    let job = JobController(
      stateDirectory: state, logger: logger, notifier: notifier,
      onMetrics: { step, metrics in serverBox.server?.broadcast(.success(0, JobController.metricsJSON(step: step, metrics: metrics))) },
      onFinish: { if exitWhenDone { finish.yield() } })
    let handler = RequestHandler(job: job, book: book)
    let server = try ControlServer(
      path: socketPath, allowedGroup: groupID, logger: logger,
      watchdog: notifier.watchdogInterval.map { interval in (interval, { notifier.notify("WATCHDOG=1") }) }
    ) { request, follow in handler.handle(request, follow: &follow) }
    serverBox.server = server
    if let config {
      let path = config.hasPrefix("/") ? config : FileManager.default.currentDirectoryPath + "/" + config
      do {
        _ = try job.start(.launch(path: path))
      } catch {
        server.stop()
        throw ValidationError("\(error)")
      }
    }
    let service = DaemonService(job: job, server: server, notifier: notifier, logger: logger, finished: finished)
    let group = ServiceGroup(configuration: .init(
      services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
    // A one-shot run's caller (make run, a script) must see a failed job as a failure.
    if exitWhenDone && job.hasFailed { throw ExitCode.failure }
  }
}

/// Lets the job's metrics callback reach the server created after it.
final class ServerBox: @unchecked Sendable {
  var server: ControlServer?
}
