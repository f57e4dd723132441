/// The keys a running job can change (`rlinfctl set KEY=VALUE`), and why the others cannot.
extension TrainingConfig {
  /// Live-tunable keys and what each does.
  public static let liveKeys: [(key: String, help: String)] = [
    ("actor.optim.lr", "policy learning rate (from the next update)"),
    ("actor.optim.value_lr", "value-head learning rate"),
    ("algorithm.entropy_bonus", "entropy bonus coefficient"),
    ("algorithm.sampling_params.temperature_train", "sampling temperature of training rollouts"),
    ("algorithm.sampling_params.temperature_eval", "evaluation temperature (0: greedy)"),
    ("runner.val_check_interval", "evaluate every N iterations (-1: never)"),
    ("runner.save_interval", "checkpoint every N iterations (-1: never)"),
    ("runner.max_epochs", "stop after N iterations (-1: never)"),
  ]

  /// This config with `key` set to `value` (text, as on the command line), validated; a key that
  /// is not live-tunable or a bad value is a ConfigError naming the key and the reason.
  public func settingLive(_ key: String, to value: String) throws -> TrainingConfig {
    guard Self.liveKeys.contains(where: { $0.key == key }) else {
      let sections = ["runner.", "algorithm.", "env.", "actor.", "rollout.", "cluster."]
      if sections.contains(where: key.hasPrefix) {
        throw ConfigError(key, "is not live-tunable: it shapes buffers, environments, the model or the placement; stop the job, edit its config and start it again (it resumes from its last checkpoint). Live keys: \(Self.liveKeys.map(\.key).joined(separator: ", "))")
      }
      throw ConfigError(key, "unknown key")
    }
    func number() throws -> Double {
      guard let x = Double(value), x.isFinite else { throw ConfigError(key, "expected a number, got \"\(value)\"") }
      return x
    }
    func integer() throws -> Int {
      guard let x = Int(value) else { throw ConfigError(key, "expected an integer, got \"\(value)\"") }
      return x
    }
    var c = self
    switch key {
    case "actor.optim.lr": c.actor.optim.lr = try number()
    case "actor.optim.value_lr": c.actor.optim.valueLr = try number()
    case "algorithm.entropy_bonus": c.algorithm.entropyBonus = try number()
    case "algorithm.sampling_params.temperature_train": c.algorithm.sampling.temperatureTrain = try number()
    case "algorithm.sampling_params.temperature_eval": c.algorithm.sampling.temperatureEval = try number()
    case "runner.val_check_interval": c.runner.valCheckInterval = try integer()
    case "runner.save_interval": c.runner.saveInterval = try integer()
    default: c.runner.maxEpochs = try integer()
    }
    try c.validate()
    return c
  }
}
