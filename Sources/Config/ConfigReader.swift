import Foundation
import Yams

/// A configuration error that names the key (dotted path) and what is wrong with it.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
  public let key: String
  public let problem: String
  public init(_ key: String, _ problem: String) {
    self.key = key
    self.problem = problem
  }
  public var description: String { key.isEmpty ? problem : "\(key): \(problem)" }
}

/// Reads one YAML mapping strictly: every typed getter marks its key as used, and `finish()`
/// rejects the keys nobody asked for, so a typo never silently falls back to a default.
final class ConfigReader {
  let path: String
  private let mapping: [String: Node]
  private var used: Set<String> = []
  private var children: [String: ConfigReader] = [:]

  init(path: String, node: Node?) throws {
    self.path = path
    guard let node else {
      mapping = [:]
      return
    }
    guard let map = node.mapping else { throw ConfigError(path, "expected a mapping of keys, found \(Self.describe(node))") }
    var entries: [String: Node] = [:]
    for (key, value) in map {
      guard let name = key.string else { throw ConfigError(path, "keys must be strings") }
      entries[name] = value
    }
    mapping = entries
  }

  func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

  /// The nested mapping `name` (empty when absent); asking twice gives the same reader.
  func section(_ name: String) throws -> ConfigReader {
    used.insert(name)
    if let child = children[name] { return child }
    let child = try ConfigReader(path: key(name), node: mapping[name])
    children[name] = child
    return child
  }

  /// The mapping at a dotted path below this one ("" is this one).
  func section(path dotted: String) throws -> ConfigReader {
    try dotted.split(separator: ".").reduce(self) { try $0.section(String($1)) }
  }

  /// Whether `name` is null (`~`, `null`); a null key counts as used.
  func null(_ name: String) -> Bool {
    guard let scalar = mapping[name]?.scalar, scalar.style == .plain, Self.nulls.contains(scalar.string) else { return false }
    used.insert(name)
    return true
  }
  private static let nulls: Set<String> = ["~", "null", "Null", "NULL", ""]

  func has(_ name: String) -> Bool { mapping[name] != nil }

  /// Every entry of this mapping, marked as used (for mappings keyed by names the caller checks).
  func entries() -> [(String, Node)] {
    used.formUnion(mapping.keys)
    return mapping.keys.sorted().map { ($0, mapping[$0]!) }
  }

  func int(_ name: String, _ fallback: Int) throws -> Int {
    guard let node = take(name) else { return fallback }
    guard let scalar = node.scalar, let value = Int(scalar.string) else {
      throw ConfigError(key(name), "expected an integer, found \(Self.describe(node))")
    }
    return value
  }

  func double(_ name: String, _ fallback: Double) throws -> Double {
    guard let node = take(name) else { return fallback }
    guard let scalar = node.scalar, let value = Double(scalar.string.replacingOccurrences(of: "_", with: "")), value.isFinite else {
      throw ConfigError(key(name), "expected a number, found \(Self.describe(node))")
    }
    return value
  }

  func bool(_ name: String, _ fallback: Bool) throws -> Bool {
    guard let node = take(name) else { return fallback }
    switch node.scalar?.string.lowercased() {
    case "true", "yes", "on": return true
    case "false", "no", "off": return false
    default: throw ConfigError(key(name), "expected true or false, found \(Self.describe(node))")
    }
  }

  func string(_ name: String, _ fallback: String) throws -> String {
    try optionalString(name) ?? fallback
  }

  /// A string or null (`~`, `null`): nil when absent or null.
  func optionalString(_ name: String) throws -> String? {
    guard let node = take(name) else { return nil }
    guard let scalar = node.scalar else { throw ConfigError(key(name), "expected a string, found \(Self.describe(node))") }
    if scalar.style == .plain && Self.nulls.contains(scalar.string) {
      return nil
    }
    return scalar.string
  }

  /// One of a fixed set of spellings.
  func choice<T: RawRepresentable & CaseIterable>(_ name: String, _ fallback: T) throws -> T where T.RawValue == String {
    let line = mapping[name]?.mark.map { " at line \($0.line)" } ?? ""
    guard let text = try optionalString(name) else { return fallback }
    guard let value = T(rawValue: text) else {
      throw ConfigError(key(name), "unknown value\(line) (expected one of: \(T.allCases.map(\.rawValue).joined(separator: ", ")))")
    }
    return value
  }

  /// A list of strings, or a comma-separated string.
  func strings(_ name: String, _ fallback: [String]) throws -> [String] {
    guard let node = take(name) else { return fallback }
    if let scalar = node.scalar {
      return scalar.string.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
    guard let sequence = node.sequence else { throw ConfigError(key(name), "expected a list of strings, found \(Self.describe(node))") }
    return try sequence.map {
      guard let s = $0.scalar?.string else { throw ConfigError(key(name), "expected a list of strings, found an entry that is \(Self.describe($0))") }
      return s
    }
  }

  /// Throws for the first key of this mapping (or a nested one) that no getter asked for.
  func finish() throws {
    for name in mapping.keys.sorted() where !used.contains(name) {
      throw ConfigError(key(name), "unknown key")
    }
    for name in children.keys.sorted() { try children[name]!.finish() }
  }

  private func take(_ name: String) -> Node? {
    used.insert(name)
    return mapping[name]
  }

  /// What a node is and where, never what it says: errors name keys and lines, and quote no
  /// value of the file.
  static func describe(_ node: Node) -> String {
    let kind = switch node {
    case .scalar: "a scalar"
    case .mapping: "a mapping"
    case .sequence: "a list"
    case .alias: "an alias"
    }
    return kind + (node.mark.map { " at line \($0.line)" } ?? "")
  }
}
