import Foundation
import Logging

/// The daemon's log: human-readable lines on standard error (journald keeps them under
/// systemd) and the most recent lines in memory for `rlinfctl logs`.
final class LogBook: @unchecked Sendable {
  private let lock = NSLock()
  private var lines: [String] = []
  static let capacity = 500

  func append(_ line: String) {
    lock.withLock {
      lines.append(line)
      if lines.count > Self.capacity { lines.removeFirst(lines.count - Self.capacity) }
    }
    FileHandle.standardError.write(Data((line + "\n").utf8))
  }

  func last(_ n: Int) -> [String] { lock.withLock { Array(lines.suffix(max(0, n))) } }
}

/// swift-log handler writing "2026-11-25T08:30:00Z info message key=value" lines to a LogBook.
struct BookLogHandler: LogHandler {
  let book: LogBook
  var logLevel: Logger.Level = .info
  var metadata: Logger.Metadata = [:]

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(
    level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String,
    file: String, function: String, line: UInt
  ) {
    let all = metadata.merging(extra ?? [:]) { $1 }
    let fields = all.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
    let time = ISO8601DateFormatter.string(from: Date(), timeZone: .gmt, formatOptions: [.withInternetDateTime])
    book.append("\(time) \(level) \(message)\(fields)")
  }
}
