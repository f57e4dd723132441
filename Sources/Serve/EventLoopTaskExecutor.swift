import NIOCore

/// Swift tasks run on a NIO event loop: a connection's task reads, decodes, encodes and writes
/// on the loop that owns its socket, so a request costs no thread hand-off besides the one to
/// the inference thread and back (each hand-off wakes a sleeping thread: tens of microseconds,
/// more on a busy machine).
final class EventLoopTaskExecutor: TaskExecutor {
  let loop: any EventLoop

  init(loop: any EventLoop) { self.loop = loop }

  func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    let executor = self
    loop.execute { job.runSynchronously(on: executor.asUnownedTaskExecutor()) }
  }
}
