/// Where a run's metrics go: one call per iteration with RLinf-named scalars.
public protocol MetricsSink: AnyObject {
  func write(step: Int, metrics: [String: Double]) throws
  /// Flushes what is buffered (the files are readable while a run goes on).
  func flush() throws
}
