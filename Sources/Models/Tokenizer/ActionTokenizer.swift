/// OpenVLA's action tokens: each normalised action dimension in [-1, 1] falls into one of 256
/// uniform bins whose edges are linspace(-1, 1, 256); bin b (1 ... 256, numpy's digitize) is the
/// token vocab - b, so actions use the last 256 ids of the vocabulary. Decoding maps
/// d = vocab - id to the centre of bin clip(d - 1, 0, 254) (255 centres).
public struct ActionTokenizer: Sendable, Equatable {
  public static let bins = 256
  public let vocabularySize: Int

  public init(vocabularySize: Int) { self.vocabularySize = vocabularySize }

  /// The first action token id.
  public var firstActionID: Int { vocabularySize - Self.bins }

  static let edges: [Double] = (0..<bins).map { -1 + 2 * Double($0) / Double(bins - 1) }
  static let centres: [Double] = (0..<(bins - 1)).map { (edges[$0] + edges[$0 + 1]) / 2 }

  public func token(for value: Double) -> Int {
    let clipped = Swift.min(Swift.max(value, -1), 1)
    // numpy.digitize: number of edges <= value (right=False).
    var bin = 0
    while bin < Self.bins && Self.edges[bin] <= clipped { bin += 1 }
    return vocabularySize - bin
  }

  public func value(for token: Int) -> Double {
    let d = vocabularySize - token
    return Self.centres[Swift.min(Swift.max(d - 1, 0), Self.bins - 2)]
  }
}

/// Dataset statistics that map normalised actions back to the robot's units:
/// a = (x + 1) / 2 * (q99 - q01) + q01 on dimensions with mask = true (the gripper is not
/// normalised), then the gripper binarised to -1 (open) or +1 (closed).
public struct ActionStatistics: Codable, Sendable, Equatable {
  public var q01: [Double]
  public var q99: [Double]
  public var mask: [Bool]

  public init(q01: [Double], q99: [Double], mask: [Bool]) {
    self.q01 = q01
    self.q99 = q99
    self.mask = mask
  }

  /// The embedded simulator's actions are already in [-1, 1].
  public static let identity = ActionStatistics(
    q01: Array(repeating: -1, count: 7), q99: Array(repeating: 1, count: 7), mask: Array(repeating: true, count: 6) + [false])

  public func unnormalize(_ x: [Double]) -> [Double] {
    x.enumerated().map { i, v in
      let value = mask[i] ? (v + 1) / 2 * (q99[i] - q01[i]) + q01[i] : v
      return i == x.count - 1 ? (value > 0 ? 1 : -1) : value
    }
  }
}
