// rlinf-train: runs one PPO or GRPO job from a YAML config in the foreground, printing a line per
// iteration (the daemon, rlinfd, runs the same jobs in the background).
import ArgumentParser
import CSys
import Config
import Foundation
import Pipeline

@main
struct RlinfTrain: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rlinf-train", abstract: "Train a VLA policy with PPO or GRPO on the embedded simulator from a YAML config.")

  @Argument(help: "The YAML config (see configs/).") var config: String?
  @Option(name: .customLong("max-epochs"), help: "Override runner.max_epochs.") var maxEpochs: Int?
  @Option(help: "Override actor.model.model_path (e.g. an SFT checkpoint).") var modelPath: String?
  @Option(help: "Override runner.logger.experiment_name.") var name: String?
  @Option(help: "Override runner.logger.log_path.") var logPath: String?
  @Option(help: "Override env.train.tasks and env.eval.tasks (comma-separated task names).") var tasks: String?
  @Flag(help: "Evaluate the starting policy on env.eval before training (runner.val_before_train).") var evalFirst = false
  @Flag(help: "Print every config key (default, live or not, meaning) as Markdown and exit.") var listKeys = false

  func validate() throws {
    if config == nil && !listKeys { throw ValidationError("give a YAML config (see configs/), or --list-keys") }
  }

  func run() throws {
    csys_line_buffered_stdout()
    guard let config, !listKeys else {
      print(TrainingConfig.knobReference, terminator: "")
      return
    }
    // torchrun's RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT make this process one rank of a job.
    var training = try TrainingConfig.load(path: config).applyingRankEnvironment()
    if let maxEpochs { training.runner.maxEpochs = maxEpochs }
    if let modelPath { training.actor.model.modelPath = modelPath }
    if let name { training.runner.experimentName = name }
    if let logPath { training.runner.logPath = logPath }
    if let tasks {
      let names = tasks.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
      training.env.train.tasks = names
      training.env.eval.tasks = names
    }
    if evalFirst { training.runner.valBeforeTrain = true }
    try training.validate()
    let job = try RLRun(config: training, configText: try? String(contentsOfFile: config, encoding: .utf8), progress: { print($0) })
    let a = training.algorithm
    for line in job.placementReport { print("auto placement: " + line) }
    for line in job.placement.summary { print("placement: " + line) }
    for note in job.collector.stages.notes { print("placement note: " + note) }
    print("\(a.advType == .gae ? "PPO" : "GRPO") on \(training.env.train.totalNumEnvs) envs, \(job.policy.config.head.rawValue) K=\(job.policy.config.numActionChunks), \(job.policy.parameterCount) parameters -> \(job.directory)")
    let start = Date()
    try job.run { step, m in
      guard step > 0 else {
        print(String(format: "eval before training: success %.1f%%", 100 * (m["eval/success_once"] ?? .nan)))
        return
      }
      let elapsed = Date().timeIntervalSince(start)
      let total = training.runner.maxEpochs
      let eta = total > 0 ? elapsed / Double(step) * Double(total - step) : .nan
      // GRPO's success filter can leave nothing to learn from: say so instead of a NaN loss.
      let loss = m["train/actor/skipped_empty_iterations"] == 1 ? "skipped (every group filtered)"
        : String(format: "%.4f", m["train/actor/policy_loss"] ?? .nan)
      var line = String(
        format: "iter %4d/%d  env steps %7d  success %.2f (last %d episodes)  reward %.3f  loss ",
        step, total, job.environmentSteps, m["env/success_recent"] ?? .nan, Int(m["env/success_recent_episodes"] ?? 0),
        m["rollout/rewards"] ?? .nan)
        + loss + String(format: "  %.0f env steps/s (rollout %.0f)  ETA %.0f s", m["runner/env_steps_per_second"] ?? .nan,
                        m["env/steps_per_second"] ?? .nan, eta)
      if let eval = m["eval/success_once"] { line += String(format: "  eval %.2f", eval) }
      print(line)
    }
    print("done: \(job.iteration) iterations, checkpoint \(job.checkpointPath(job.iteration)), metrics \(job.directory)/metrics.jsonl")
    if let best = job.checkpoints.best(), let success = best.evalSuccess {
      print(String(format: "hands over iteration %d (periodic evaluation %.1f%%, within one standard error of the best), %@", best.step, 100 * success, best.path))
    }
  }
}
