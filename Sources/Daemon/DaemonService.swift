import Foundation
import Logging
import ServiceLifecycle

/// rlinfd as a swift-service-lifecycle service: serves the control socket, tells systemd it is
/// ready, and on SIGTERM/SIGINT (graceful shutdown) lets the job finish its iteration, write a
/// checkpoint, and exits 0. With `exitWhenDone`, a finished job ends the daemon too.
struct DaemonService: Service {
  let job: JobController
  let server: ControlServer
  let notifier: SystemdNotifier
  let logger: Logger
  let finished: AsyncStream<Void>

  func run() async throws {
    server.start()
    logger.info("rlinfd ready, control socket \(server.path)")
    notifier.notify("READY=1\nSTATUS=ready")
    // Until the job finishes (with exitWhenDone) or a graceful shutdown cancels the wait.
    try? await cancelWhenGracefulShutdown {
      for await _ in finished { break }
    }
    logger.info("shutting down: finishing the current iteration and writing a checkpoint")
    notifier.notify("STOPPING=1")
    let job = self.job
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
      Thread { job.shutdown(); done.resume() }.start()
    }
    server.stop()
    logger.info("rlinfd stopped")
  }
}
