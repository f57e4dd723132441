/// A named colour, linear RGB in [0, 1].
public struct NamedColor: Sendable, Hashable, CustomStringConvertible {
  public let name: String
  public let rgb: SIMD3<Float>
  public var description: String { name }

  public init(_ name: String, _ r: Float, _ g: Float, _ b: Float) {
    self.name = name
    rgb = SIMD3(r, g, b)
  }
}

/// Object colours. Training tasks use `seen`; the vision split draws distractors and tables from
/// `unseen` too, and the semantic split names unseen colour/object combinations.
public enum Palette {
  public static let red = NamedColor("red", 0.85, 0.12, 0.10)
  public static let green = NamedColor("green", 0.15, 0.70, 0.20)
  public static let blue = NamedColor("blue", 0.12, 0.25, 0.85)
  public static let yellow = NamedColor("yellow", 0.92, 0.85, 0.15)
  public static let purple = NamedColor("purple", 0.55, 0.20, 0.75)
  public static let orange = NamedColor("orange", 0.95, 0.50, 0.08)
  public static let pink = NamedColor("pink", 0.95, 0.50, 0.70)
  public static let cyan = NamedColor("cyan", 0.10, 0.80, 0.85)
  public static let brown = NamedColor("brown", 0.50, 0.30, 0.12)
  public static let white = NamedColor("white", 0.92, 0.92, 0.92)

  public static let seen = [red, green, blue, yellow, purple, orange]
  public static let unseen = [pink, cyan, brown, white]
  public static let all = seen + unseen

  public static func named(_ name: String) -> NamedColor? { all.first { $0.name == name } }

  static let table = SIMD3<Float>(0.62, 0.50, 0.38)
  static let floor = SIMD3<Float>(0.35, 0.35, 0.38)
  static let gripper = SIMD3<Float>(0.20, 0.20, 0.22)
  /// Table colours of randomised training scenes (`TabletopConfig.randomizeAppearance`): the
  /// default wood and four more warm tones, none near the vision split's.
  static let tablesSeen: [SIMD3<Float>] = [table, [0.45, 0.34, 0.24], [0.72, 0.66, 0.52], [0.60, 0.42, 0.34], [0.55, 0.53, 0.48]]
  /// Table colours of the vision split ("textures as colours").
  static let tablesUnseen: [SIMD3<Float>] = [[0.80, 0.80, 0.78], [0.30, 0.42, 0.30], [0.40, 0.40, 0.55]]
}
