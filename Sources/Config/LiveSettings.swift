/// The keys a running job can change (`rlinfctl set KEY=VALUE`), and why the others cannot.
extension TrainingConfig {
  /// Live-tunable keys (the knobs marked live) and what each does.
  public static var liveKeys: [(key: String, help: String)] { knobs.filter(\.live).map { ($0.key, $0.doc) } }

  /// This config with `key` set to `value` (text, as on the command line), validated; a key that
  /// is not live-tunable or a bad value is a ConfigError naming the key and the reason.
  public func settingLive(_ key: String, to value: String) throws -> TrainingConfig {
    guard let knob = Self.knob(key) else { throw ConfigError(key, "unknown key") }
    guard knob.live, let assign = knob.assign else {
      throw ConfigError(key, "is not live-tunable: it shapes buffers, environments, the model or the placement; stop the job, edit its config and start it again (it resumes from its last checkpoint). Live keys: \(Self.liveKeys.map(\.key).joined(separator: ", "))")
    }
    var c = self
    try assign(&c, value)
    try c.validate()
    return c
  }
}
