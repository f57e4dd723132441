/// One configuration knob: its YAML key, one line on what it does, whether a running job can
/// change it, how its value is spelled, its own range check, and the `TrainingConfig` field it
/// sets. `TrainingConfig.knobs` lists every knob; the YAML reader, `rlinfctl set`, validation
/// and `docs/config-keys.md` all come from that one list.
public struct Knob: Sendable {
  /// The dotted YAML key, e.g. `algorithm.gamma`.
  public let key: String
  /// What the knob does, in one line.
  public let doc: String
  /// Whether `rlinfctl set` may change it while a job runs.
  public let live: Bool
  /// What the YAML value must be ("integer", "one of: gae, grpo", ...).
  public let spelling: String
  /// The field it sets, as Swift writes its key path (`\TrainingConfig.algorithm.gamma`).
  public let field: String
  /// The default, where it depends on other knobs (nil: the value in `TrainingConfig()`).
  let defaultNote: String?
  /// Reads the knob from the reader of its section into the config.
  let read: @Sendable (inout TrainingConfig, ConfigReader) throws -> Void
  /// Sets the knob from command-line text (nil: a structured knob only YAML can set).
  let assign: (@Sendable (inout TrainingConfig, String) throws -> Void)?
  /// The knob's value in a config, as YAML text.
  let text: @Sendable (TrainingConfig) -> String
  /// The knob's own range check: the problem, or nil.
  let check: @Sendable (TrainingConfig) -> String?

  /// The section the key lives in (`algorithm.sampling_params`), "" at the root.
  public var section: String { key.split(separator: ".").dropLast().joined(separator: ".") }
  /// The key's last part (`temperature_train`).
  public var name: String { String(key.split(separator: ".").last ?? "") }
  /// The default, as YAML text or a note on what it depends on.
  public var defaultText: String { defaultNote ?? text(TrainingConfig()) }
  /// The knob's value in `config`, as YAML text.
  public func value(in config: TrainingConfig) -> String { text(config) }
}

extension Knob {
  /// A knob whose value is one field of the config.
  /// - `default`: a default computed from the knobs read before it (loss_type from adv_type).
  /// - `adjust`: maps a spelling onto the stored value (RLinf's top_k -1 to our 0).
  static func field<V: KnobValue>(
    _ key: String, _ path: WritableKeyPath<TrainingConfig, V>, live: Bool = false,
    default dependent: (@Sendable (TrainingConfig) -> V)? = nil, defaultNote: String? = nil,
    adjust: (@Sendable (V) -> V)? = nil, check: (@Sendable (V) -> String?)? = nil, _ doc: String
  ) -> Knob {
    // Key paths are immutable values; Swift 6 does not yet mark the generic ones Sendable.
    nonisolated(unsafe) let path = path
    let name = String(key.split(separator: ".").last!)
    @Sendable func store(_ value: V, in config: inout TrainingConfig) { config[keyPath: path] = adjust?(value) ?? value }
    return Knob(
      key: key, doc: doc, live: live, spelling: V.spelling, field: String(describing: path), defaultNote: defaultNote,
      read: { config, reader in
        if let value = try V.read(reader, name) {
          store(value, in: &config)
        } else if let dependent {
          config[keyPath: path] = dependent(config)
        }
      },
      assign: { config, text in
        guard let value = V(knobText: text) else { throw ConfigError(key, "expected \(V.spelling), got \"\(text)\"") }
        store(value, in: &config)
      },
      text: { $0[keyPath: path].knobText },
      check: { config in check?(config[keyPath: path]) })
  }

  /// A knob whose value is a structure only YAML can spell (a mapping); `read` gets the reader
  /// of the knob's section and the knob's name, and returns nil when the key is absent.
  static func structured<V>(
    _ key: String, _ path: WritableKeyPath<TrainingConfig, V>, spelling: String, text: @escaping @Sendable (V) -> String,
    read: @escaping @Sendable (ConfigReader, String) throws -> V?, _ doc: String
  ) -> Knob {
    nonisolated(unsafe) let path = path
    let name = String(key.split(separator: ".").last!)
    return Knob(
      key: key, doc: doc, live: false, spelling: spelling, field: String(describing: path), defaultNote: nil,
      read: { config, reader in
        if let value = try read(reader, name) { config[keyPath: path] = value }
      },
      assign: nil, text: { text($0[keyPath: path]) }, check: { _ in nil })
  }
}

/// Range checks shared by many knobs; each returns the problem, or nil.
enum Rule {
  static func positive(_ x: Double) -> String? { x > 0 ? nil : "must be positive, got \(x)" }
  static func nonNegative(_ x: Double) -> String? { x >= 0 ? nil : "must not be negative, got \(x)" }
  static func atLeastOne(_ x: Int) -> String? { x >= 1 ? nil : "must be at least 1, got \(x)" }
  static func nonNegative(_ x: Int) -> String? { x >= 0 ? nil : "must not be negative, got \(x)" }
  /// Every N iterations, or -1 for never.
  static func interval(_ x: Int) -> String? { x == -1 || x >= 1 ? nil : "must be -1 (never) or positive, got \(x)" }
  static func unitInterval(_ x: Double) -> String? { (0...1).contains(x) ? nil : "must be in [0, 1], got \(x)" }
  static func beta(_ x: Double) -> String? { (0..<1).contains(x) ? nil : "must be in [0, 1), got \(x)" }
  static func inRange(_ range: ClosedRange<Int>) -> @Sendable (Int) -> String? {
    { range.contains($0) ? nil : "must be \(range.lowerBound)...\(range.upperBound), got \($0)" }
  }
  static func oneOf(_ names: [String]) -> @Sendable (String) -> String? {
    { names.contains($0) ? nil : "unknown value \"\($0)\" (expected one of: \(names.joined(separator: ", ")))" }
  }
}
