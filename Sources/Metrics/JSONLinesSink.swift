import Foundation

/// `metrics.jsonl`: one JSON object per iteration, `{"step": N, "metrics": {...}}`, appended
/// (a resumed run continues the same file). Non-finite values are left out (JSON has none).
public final class JSONLinesSink: MetricsSink {
  public let path: String
  private let handle: FileHandle

  public init(path: String) throws {
    self.path = path
    let url = URL(fileURLWithPath: path)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
    handle = try FileHandle(forWritingTo: url)
    try handle.seekToEnd()
  }

  deinit { try? handle.close() }

  public func write(step: Int, metrics: [String: Double]) throws {
    let finite = metrics.filter { $0.value.isFinite }
    let line = try JSONSerialization.data(withJSONObject: ["step": step, "metrics": finite], options: [.sortedKeys, .withoutEscapingSlashes])
    try handle.write(contentsOf: line + Data("\n".utf8))
  }

  public func flush() throws { try handle.synchronize() }
}
