/// Errors of the simulator, each naming what was wrong.
public enum SimError: Error, CustomStringConvertible, Sendable {
  case unknownTask(String, suggestions: [String])
  case invalidConfig(String)
  case badActions(String)
  case physics(String)
  /// A Python simulator worker failed (crashed, hung, asked for input, or broke the protocol).
  case worker(String)

  public var description: String {
    switch self {
    case .unknownTask(let name, let suggestions):
      "unknown task '\(name)'" + (suggestions.isEmpty ? " (see `rlinf-sim tasks`)" : "; similar: \(suggestions.joined(separator: ", "))")
    case .invalidConfig(let why): "invalid simulator config: \(why)"
    case .badActions(let why): "bad actions: \(why)"
    case .physics(let why): "physics: \(why)"
    case .worker(let why): "simulator worker: \(why)"
    }
  }
}

extension String {
  /// The NUL-terminated text in a C character buffer.
  init(cBuffer: [CChar]) {
    self.init(decoding: cBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
