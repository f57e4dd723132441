/// A type a knob can hold: read from YAML, parsed from command-line text, written back as YAML.
protocol KnobValue: Sendable {
  /// The value of `name` in `reader`'s mapping, nil when the key is absent.
  static func read(_ reader: ConfigReader, _ name: String) throws -> Self?
  /// Parses command-line text (`rlinfctl set KEY=VALUE`); nil when it does not parse.
  init?(knobText: String)
  /// The value as YAML text.
  var knobText: String { get }
  /// What a value must look like, for errors and the docs.
  static var spelling: String { get }
}

extension Int: KnobValue {
  static func read(_ reader: ConfigReader, _ name: String) throws -> Int? {
    reader.has(name) ? try reader.int(name, 0) : nil
  }
  init?(knobText: String) { self.init(knobText) }
  var knobText: String { String(self) }
  static var spelling: String { "an integer" }
}

extension Double: KnobValue {
  static func read(_ reader: ConfigReader, _ name: String) throws -> Double? {
    reader.has(name) ? try reader.double(name, 0) : nil
  }
  init?(knobText: String) {
    guard let x = Double(knobText), x.isFinite else { return nil }
    self = x
  }
  var knobText: String { "\(self)" }
  static var spelling: String { "a number" }
}

extension Bool: KnobValue {
  static func read(_ reader: ConfigReader, _ name: String) throws -> Bool? {
    reader.has(name) ? try reader.bool(name, false) : nil
  }
  init?(knobText: String) {
    switch knobText.lowercased() {
    case "true", "yes", "on": self = true
    case "false", "no", "off": self = false
    default: return nil
    }
  }
  var knobText: String { self ? "true" : "false" }
  static var spelling: String { "true or false" }
}

extension String: KnobValue {
  static func read(_ reader: ConfigReader, _ name: String) throws -> String? { try reader.optionalString(name) }
  init?(knobText: String) { self = knobText }
  var knobText: String { self }
  static var spelling: String { "a string" }
}

extension Array: KnobValue where Element == String {
  static func read(_ reader: ConfigReader, _ name: String) throws -> [String]? {
    reader.has(name) ? try reader.strings(name, []) : nil
  }
  init?(knobText: String) {
    self = knobText.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
  }
  var knobText: String { "[" + joined(separator: ", ") + "]" }
  static var spelling: String { "a list of names (or one comma-separated string)" }
}

/// A knob that may be null (`~`, `null`): absent keeps the default, null clears it.
extension Optional: KnobValue where Wrapped: KnobValue {
  static func read(_ reader: ConfigReader, _ name: String) throws -> Wrapped?? {
    guard reader.has(name) else { return nil }
    if reader.null(name) { return .some(nil) }
    return .some(try Wrapped.read(reader, name))
  }
  init?(knobText: String) {
    if knobText == "null" {
      self = .none
    } else {
      guard let value = Wrapped(knobText: knobText) else { return nil }
      self = .some(value)
    }
  }
  var knobText: String { map(\.knobText) ?? "null" }
  static var spelling: String { Wrapped.spelling + " or null" }
}

/// The enums whose raw values are RLinf's spellings.
protocol KnobChoice: KnobValue, RawRepresentable, CaseIterable where RawValue == String {}

extension KnobChoice {
  static func read(_ reader: ConfigReader, _ name: String) throws -> Self? {
    reader.has(name) ? try reader.choice(name, allCases.first!) : nil
  }
  init?(knobText: String) { self.init(rawValue: knobText) }
  var knobText: String { rawValue }
  static var spelling: String { "one of: " + allCases.map(\.rawValue).joined(separator: ", ") }
}

extension AdvantageType: KnobChoice {}
extension LossType: KnobChoice {}
extension Granularity: KnobChoice {}
extension BootstrapType: KnobChoice {}
extension PolicyModelType: KnobChoice {}
extension Precision: KnobChoice {}
extension RewardMode: KnobChoice {}
extension LRSchedule: KnobChoice {}
extension PlacementMode: KnobChoice {}
extension DistributedBackend: KnobChoice {}
extension ServedWeights: KnobChoice {}
