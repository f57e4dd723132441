import Foundation

extension RLRun {
  /// Every rank's `value`, in rank order (`[value]` in a single-process job): how the ranks of a
  /// job agree between iterations on what to do next (control requests, a stop), so that they
  /// checkpoint, change settings and pause at the same iteration and none waits in a collective
  /// the others never enter.
  public func gathered<Value: Codable>(_ value: Value, _ what: String) throws -> [Value] {
    guard let group else { return [value] }
    let mine = Array(try JSONEncoder().encode(value))
    return try group.allGather(bytes: mine, what).map { try JSONDecoder().decode(Value.self, from: Data($0)) }
  }

  /// This process's place in the job: rank and world size (0 and 1 without ranks).
  public var rank: (index: Int, of: Int) { (group?.rank ?? 0, group?.worldSize ?? 1) }
}
