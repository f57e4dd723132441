import Foundation
import Yams

extension TrainingConfig {
  /// Reads and validates a YAML file; errors name the file and the key.
  public static func load(path: String) throws -> TrainingConfig {
    guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
      throw ConfigError("", "cannot read config file \(path)")
    }
    return try parse(yaml: text, source: path)
  }

  /// `parse(yaml:)` whose errors also name where the text came from (a file, a client's label).
  public static func parse(yaml: String, source: String) throws -> TrainingConfig {
    do {
      return try parse(yaml: yaml)
    } catch let error as ConfigError {
      throw ConfigError(error.key, error.problem + " (in \(source))")
    }
  }

  /// Parses YAML text strictly (unknown keys and wrong types are errors) and validates it.
  public static func parse(yaml: String) throws -> TrainingConfig {
    let root: Node?
    do {
      root = try Yams.compose(yaml: yaml)
    } catch let error as YamlError {
      throw ConfigError("", "not valid YAML: " + Self.withoutText(error))
    } catch {
      throw ConfigError("", "not valid YAML")
    }
    let reader = try ConfigReader(path: "", node: root)
    var config = TrainingConfig()
    try config.read(reader)
    try reader.finish()
    try config.validate()
    return config
  }

  /// A YAML error's problem and position, without the snippet of the text Yams quotes.
  static func withoutText(_ error: YamlError) -> String {
    switch error {
    case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
      return "\(problem) at line \(mark.line), column \(mark.column)"
    case .reader(let problem, let offset, _, _):
      return problem + (offset.map { " at byte \($0)" } ?? "")
    case .duplicatedKeysInMapping(let duplicates, let context):
      return "duplicated keys \(duplicates.joined(separator: ", ")) at line \(context.mark.line)"
    default:
      return "cannot parse"
    }
  }

  /// Reads every knob from its section of the document.
  private mutating func read(_ r: ConfigReader) throws {
    for knob in Self.knobs { try knob.read(&self, r.section(path: knob.section)) }
  }

  /// `env.*.worker.options`: a flat mapping of names to scalars.
  static func readWorkerOptions(_ r: ConfigReader, _ name: String) throws -> [String: String]? {
    guard r.has(name) else { return nil }
    let options = try r.section(name)
    var values: [String: String] = [:]
    for (key, node) in options.entries() {
      guard let value = node.scalar?.string else { throw ConfigError(options.key(key), "expected a scalar value") }
      values[key] = value
    }
    return values
  }

  static func describeOptions(_ options: [String: String]) -> String {
    "{" + options.keys.sorted().map { "\($0): \(options[$0]!)" }.joined(separator: ", ") + "}"
  }

  /// `cluster.component_placement`: components (alone or comma-joined, as in RLinf) to resources.
  static func readPlacement(_ r: ConfigReader, _ name: String) throws -> [Component: ComponentPlacement]? {
    guard r.has(name) else { return nil }
    let placement = try r.section(name)
    var components: [Component: ComponentPlacement] = [:]
    for (names, node) in placement.entries() {
      for name in names.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
        guard let component = Component(rawValue: name) else {
          throw ConfigError(placement.key(names), "unknown component \"\(name)\" (env, rollout, actor)")
        }
        guard components[component] == nil else { throw ConfigError(placement.key(names), "\(name) is placed twice") }
        components[component] = try ComponentPlacement.read(node, key: placement.key(names))
      }
    }
    return components
  }

  static func describePlacement(_ components: [Component: ComponentPlacement]) -> String {
    func cores(_ c: [Int]?) -> String { c.map { "\"" + $0.map(String.init).joined(separator: ",") + "\"" } ?? "all" }
    let entries = Component.allCases.compactMap { component in
      components[component].map { p in
        var fields = ["cores: " + cores(p.cores), "device: " + p.device]
        if let t = p.threads { fields.append("threads: \(t)") }
        if let n = p.numaNode { fields.append("numa_node: \(n)") }
        return component.rawValue + ": {" + fields.joined(separator: ", ") + "}"
      }
    }
    return "{" + entries.joined(separator: ", ") + "}"
  }
}

extension ComponentPlacement {
  /// A core list, or a mapping {cores, threads, device, numa_node}.
  fileprivate static func read(_ node: Node, key: String) throws -> ComponentPlacement {
    func cores(_ text: String, _ key: String) throws -> [Int]? {
      guard let parsed = parseCores(text) else {
        throw ConfigError(key, "\"\(text)\" is not a core list (\"all\", \"3\", \"0-3\", \"0,2,5-7\"; no repeats)")
      }
      return parsed
    }
    if let scalar = node.scalar { return ComponentPlacement(cores: try cores(scalar.string, key)) }
    let r = try ConfigReader(path: key, node: node)
    var p = ComponentPlacement()
    p.cores = try cores(r.string("cores", "all"), r.key("cores"))
    p.threads = try r.has("threads") ? r.int("threads", 1) : nil
    p.device = try r.string("device", p.device)
    p.numaNode = try r.has("numa_node") ? r.int("numa_node", 0) : nil
    try r.finish()
    return p
  }
}
