import ArgumentParser
import Checkpoints
import Config
import Foundation
import Models
import Pipeline
import Sim
import Staging
import Torch

/// `rlinf-sft compare CONFIG`: a finished job's SFT base against the checkpoint the job hands
/// over (CheckpointStore.best), greedy, on every split, with reset states the periodic
/// evaluations never used. Writes `<run>/comparison.md` and a report per policy and split under
/// `<run>/eval/`.
struct Compare: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Evaluate a job's SFT base and its handed-over RL checkpoint on every split (fresh episodes) and write a table.")
  @Argument(help: "The job's YAML config.") var config: String
  @Option(name: .customLong("run"), help: "The run folder (default: <log_path>/<experiment_name>).") var runDirectory: String?
  @Option(help: "Episodes per task and split.") var episodes = 34
  @Option(help: "Reset-state seed (the jobs' periodic evaluations use 1000 + env.eval.seed).") var seed: UInt64 = 5000
  @Option(help: "Comma-separated splits: train, vision, execution, semantic (recombined words), unseen (semantic tasks naming unseen words).")
  var splits = "train,vision,execution,semantic"
  @Option(help: "Worker threads (simulator and policy).") var threads = 2
  @Option(help: "The RL checkpoint to compare (default: the one the job hands over, else the latest).") var checkpoint: String?

  func run() throws {
    let job = try TrainingConfig.load(path: config)
    let directory = runDirectory ?? job.runner.logPath + "/" + job.runner.experimentName
    let store = try CheckpointStore(root: directory + "/checkpoints")
    guard let handed = checkpoint.map({ try? store.verify($0) }) ?? store.best() ?? store.latest() else {
      throw ValidationError("no complete checkpoint under \(directory)/checkpoints: has the job run?")
    }
    let base = directory + "/sft/checkpoint"  // where the job's warm start saved it (SFTWarmStart)
    var policies: [(name: String, path: String)] = []
    if FileManager.default.fileExists(atPath: base + "/" + VLACheckpoint.configFile) { policies.append(("SFT base", base)) }
    policies.append(("RL, iteration \(handed.step)", handed.path))
    let trained = job.env.train.tasks.isEmpty ? TaskCatalog.trainTasks : try job.env.train.tasks.map(TaskCatalog.named)
    let work = try WorkerPool.forStage(
      "rlinf-eval-worker", StageResources(component: .actor, cores: Array(Machine.current().cpus.prefix(threads)), threads: threads, device: "cpu", numaNode: nil))
    print("comparing \(policies.map { "\($0.name) (\($0.path))" }.joined(separator: " and ")), \(episodes) greedy episodes per task, seed \(seed)")
    var table: [String: [String: ClosedLoopEvaluation.Result]] = [:]
    let splitNames = splits.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    for (name, path) in policies {
      let policy = try VLACheckpoint.load(from: path)
      policy.computeInBFloat16 = job.actor.model.precision.usesBFloat16(on: .cpu)  // evaluates on the CPU
      for splitName in splitNames {
        let (split, tasks) = try Self.tasks(splitName, trained: trained)
        let result = try ClosedLoopEvaluation.run(
          policy: policy, tasks: tasks.map(\.name), episodesPerTask: episodes, split: split, seed: seed, threads: threads,
          wristCamera: job.env.eval.useWristImage, work: work)
        table[name, default: [:]][splitName] = result
        let file = directory + "/eval/compare_\(name.hasPrefix("SFT") ? "sft" : "step_\(handed.step)")_\(splitName)"
        try EvaluationReport.write(result, title: "\(name), split \(splitName), seed \(seed)", to: file)
        print(String(format: "  %@ on %@: %.1f%% of %d episodes (%@.md)", name, splitName, 100 * result.successRate, result.episodes, file))
      }
    }
    var md = [
      "# \(job.runner.experimentName): SFT base vs RL", "",
      "Greedy success over \(episodes) episodes per task and split (reset-state seed \(seed), disjoint from the training windows and the periodic evaluations). The RL checkpoint is the one the job hands over: the newest within one standard error of its best periodic evaluation.", "",
      "| policy | " + splitNames.joined(separator: " | ") + " |", "|---|" + String(repeating: "---|", count: splitNames.count),
    ]
    for (name, _) in policies {
      md.append("| \(name) | " + splitNames.map { String(format: "%.1f%%", 100 * table[name]![$0]!.successRate) }.joined(separator: " | ") + " |")
    }
    md.append("")
    md += Self.familyTable(table, policies: policies.map(\.name), splits: splitNames)
    try md.joined(separator: "\n").write(toFile: directory + "/comparison.md", atomically: true, encoding: .utf8)
    print(md.joined(separator: "\n"))
  }

  /// Success per task family and split for each policy (when the tasks span several families).
  static func familyTable(_ table: [String: [String: ClosedLoopEvaluation.Result]], policies: [String], splits: [String]) -> [String] {
    let families = Set(table.values.flatMap { $0.values.flatMap { $0.perTask.keys } }.compactMap { try? TaskCatalog.named($0).family })
    guard families.count > 1 else { return [] }
    var lines = ["Per task family (success_once; semantic: the recombinations of each family's words):", "",
                 "| family | " + splits.flatMap { s in policies.map { "\(s): \($0)" } }.joined(separator: " | ") + " |",
                 "|---|" + String(repeating: "---|", count: splits.count * policies.count)]
    for family in TaskFamily.allCases where families.contains(family) {
      let cells = splits.flatMap { split in
        policies.map { name -> String in
          let outcomes = table[name]![split]!.perTask.filter { (try? TaskCatalog.named($0.key).family) == family }.map(\.value)
          let episodes = outcomes.reduce(0) { $0 + $1.episodes }
          return episodes == 0 ? "-" : String(format: "%.0f%%", 100 * Double(outcomes.reduce(0) { $0 + $1.successes }) / Double(episodes))
        }
      }
      lines.append("| \(family.rawValue) | " + cells.joined(separator: " | ") + " |")
    }
    return lines + [""]
  }

  /// The evaluation split and tasks of a split name for a job trained on `trained`.
  static func tasks(_ name: String, trained: [TaskSpec]) throws -> (Split, [TaskSpec]) {
    switch name {
    case "train", "vision", "execution": return (Split(rawValue: name)!, trained)
    case "semantic": return (.semantic, TaskCatalog.semanticRecombinations(of: trained))
    case "unseen":
      let recombined = Set(TaskCatalog.semanticRecombinations(of: trained).map(\.name))
      return (.semantic, TaskCatalog.semanticTasks.filter { !recombined.contains($0.name) })
    default: throw ValidationError("unknown split \(name) (train, vision, execution, semantic, unseen)")
    }
  }
}
