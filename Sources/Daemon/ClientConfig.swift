import Config
import Foundation

/// What a config that arrives over the control socket may name. The daemon may run with more
/// rights than its clients (another user, systemd's state directory), so such a config must not
/// make it read, write or run anything outside its state directory: the client sends the YAML
/// text (read with its own permissions), never a path, and every path inside the text is
/// confined to the state directory. A config given at launch (`rlinfd --config`) comes from
/// whoever started the daemon and is not confined.
enum ClientConfig {
  /// Parses the text a client sent and confines its paths; errors name the key, never quote the
  /// text (the client has it) and never name a file the daemon opened for the client.
  static func parse(_ text: String, label: String, stateDirectory: String) throws -> TrainingConfig {
    var config = try TrainingConfig.parse(yaml: text, source: label)
    try confine(&config, stateDirectory: stateDirectory)
    return config
  }

  /// Runs go under the state directory, a starting checkpoint must lie inside it, and simulator
  /// workers are the daemon's own (the interpreter and script of its installation).
  static func confine(_ config: inout TrainingConfig, stateDirectory: String) throws {
    config.runner.logPath = try inside(stateDirectory, config.runner.logPath, key: "runner.logger.log_path")
    if let model = config.actor.model.modelPath {
      config.actor.model.modelPath = try inside(stateDirectory, model, key: "actor.model.model_path")
    }
    for (name, env) in [("train", config.env.train), ("eval", config.env.eval)] {
      guard env.worker.python == nil, env.worker.script == WorkerConfig().script else {
        throw ConfigError("env.\(name).worker", "a config sent over the control socket cannot choose the worker's interpreter or script; set them in the config rlinfd is launched with")
      }
    }
  }

  /// A relative path without `..`, taken inside `root`.
  static func inside(_ root: String, _ path: String, key: String) throws -> String {
    let parts = path.split(separator: "/", omittingEmptySubsequences: true)
    guard !path.hasPrefix("/"), !parts.contains(".."), !parts.isEmpty else {
      throw ConfigError(key, "a config sent over the control socket names paths relative to the daemon's state directory, without '..'")
    }
    return root + "/" + parts.joined(separator: "/")
  }
}
