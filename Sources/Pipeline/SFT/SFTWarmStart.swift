import Config
import Foundation
import Models
import Sim
import Torch

/// The supervised warm start a config asks for (`sft.enabled`): expert demonstrations of the
/// env.train tasks, the tiny policy the actor.model keys describe trained on them, saved as the
/// starting checkpoint of the RL job. Done once per job: a finished warm start is reused.
public enum SFTWarmStart {
  /// `<log_path>/<experiment_name>/sft/checkpoint`.
  public static func checkpointPath(_ config: TrainingConfig) -> String {
    config.runner.logPath + "/" + config.runner.experimentName + "/sft/checkpoint"
  }

  /// Runs the warm start unless its checkpoint exists; returns the checkpoint path.
  public static func run(_ config: TrainingConfig, log: (String) -> Void) throws -> String {
    let final = checkpointPath(config)
    if FileManager.default.fileExists(atPath: final + "/" + VLACheckpoint.configFile) {
      log("SFT warm start: reusing \(final)")
      return final
    }
    let folder = (final as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let e = config.env.train, m = config.actor.model, s = config.sft
    let split = Split(rawValue: e.split) ?? .inDistribution
    let tasks = e.tasks.isEmpty ? split.defaultTasks.map(\.name) : e.tasks
    log("SFT warm start: recording \(s.episodesPerTask) expert episodes of each of \(tasks.count) tasks")
    let dataset = try DemoRecorder.record(
      tasks: tasks, episodesPerTask: s.episodesPerTask, split: split, wristCamera: e.useWristImage,
      seed: UInt64(config.actor.seed), threads: e.numThreads) { _ in }
    let demos = folder + "/demos.safetensors"
    try dataset.write(to: demos)
    let data = try DemoData(path: demos, camera: e.useWristImage ? "wrist_rgb" : "rgb")
    let tokenizer = try TinyTokenizer.load()
    let vla = m.tinyVLAConfig(textVocabulary: tokenizer.vocabularySize)
    let policy = try VLAPolicy(config: vla, tokenizer: tokenizer, generator: Generator(seed: UInt64(config.actor.seed)))
    try policy.move(to: Device(parsing: config.cluster.placement(of: .actor).device))  // trains where the actor will
    var run = SFTRun()
    run.steps = s.steps
    run.batchSize = s.batchSize
    run.learningRate = s.lr
    run.seed = UInt64(config.actor.seed)
    log("SFT warm start: \(data.count) demonstration steps, \(s.steps) steps of batch \(s.batchSize)")
    _ = try run.train(policy: policy, data: data) { p in
      log(String(format: "SFT step %d/%d  loss %.4f  %.0f samples/s  ETA %.0f s", p.step, s.steps, p.loss, p.samplesPerSecond, p.secondsLeft))
    }
    // Saved beside its final name and renamed: a killed warm start never looks finished.
    let temporary = folder + "/.checkpoint-\(getpid())"
    try? FileManager.default.removeItem(atPath: temporary)
    try VLACheckpoint.save(policy, to: temporary)
    try FileManager.default.moveItem(atPath: temporary, toPath: final)
    log("SFT warm start: saved \(final)")
    return final
  }
}
