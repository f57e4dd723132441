import Config
import Foundation
import Models
import Sim
import Staging
import Torch

/// The supervised warm start a config asks for (`sft.enabled`): expert demonstrations of the
/// env.train tasks, the tiny policy the actor.model keys describe trained on them, saved as the
/// starting checkpoint of the RL job. Done once per job: a finished warm start is reused.
public enum SFTWarmStart {
  /// `<log_path>/<experiment_name>/sft/checkpoint`.
  public static func checkpointPath(_ config: TrainingConfig) -> String {
    config.runner.logPath + "/" + config.runner.experimentName + "/sft/checkpoint"
  }

  /// Runs the warm start unless its checkpoint exists; returns the checkpoint path. Recording
  /// and training run on a thread pinned to the actor's cores with its thread count (where the
  /// RL updates will run), `progress` hears every logged training step.
  /// `shouldStop` is asked before every training step: true abandons the warm start (it runs
  /// again from the start next time) by throwing `SFTRun.Stopped`.
  public static func run(
    _ config: TrainingConfig, log: @escaping (String) -> Void, progress: @escaping (SFTRun.Progress) -> Void = { _ in },
    shouldStop: @escaping () -> Bool = { false }
  ) throws -> String {
    let final = checkpointPath(config)
    if FileManager.default.fileExists(atPath: final + "/" + VLACheckpoint.configFile) {
      log("SFT warm start: reusing \(final)")
      return final
    }
    let folder = (final as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let thread = try StageThread(name: "rlinf-sft", resources: Placement(config: config).actor)
    defer { thread.stop() }
    try thread.run { try train(config, into: folder, log: log, progress: progress, shouldStop: shouldStop) }
    // Saved beside its final name and renamed: a killed warm start never looks finished.
    try FileManager.default.moveItem(atPath: temporaryPath(folder), toPath: final)
    log("SFT warm start: saved \(final)")
    return final
  }

  private static func temporaryPath(_ folder: String) -> String { folder + "/.checkpoint-\(getpid())" }

  /// Records the demonstrations, trains the policy and saves it at `temporaryPath(folder)`.
  private static func train(
    _ config: TrainingConfig, into folder: String, log: (String) -> Void, progress: (SFTRun.Progress) -> Void,
    shouldStop: @escaping () -> Bool
  ) throws {
    let e = config.env.train, m = config.actor.model, s = config.sft
    let split = Split(rawValue: e.split) ?? .inDistribution
    let tasks = e.tasks.isEmpty ? split.defaultTasks.map(\.name) : e.tasks
    // sft.randomize_scenes false: the simulator's canonical scenes, whatever env.train varies.
    let varied = s.randomizeScenes ?? true, canonical = TabletopConfig()
    log("SFT warm start: recording \(s.episodesPerTask) expert episodes of each of \(tasks.count) tasks")
    let dataset = try DemoRecorder.record(
      tasks: tasks, episodesPerTask: s.episodesPerTask, split: split, wristCamera: e.useWristImage,
      randomizeAppearance: varied ? e.randomizeAppearance : canonical.randomizeAppearance,
      maxDistractors: varied ? e.maxDistractors : canonical.maxDistractors,
      startSpread: varied ? e.startSpread : canonical.startSpread, confusableFraction: s.confusableDistractors, seed: UInt64(config.actor.seed), threads: Placement(config: config).actor.threads) { _ in }
    let demos = folder + "/demos.safetensors"
    try dataset.write(to: demos)
    let data = try DemoData(path: demos, camera: e.useWristImage ? "wrist_rgb" : "rgb")
    let tokenizer = try TinyTokenizer.load()
    let vla = m.tinyVLAConfig(textVocabulary: tokenizer.vocabularySize)
    let policy = try VLAPolicy(config: vla, tokenizer: tokenizer, generator: Generator(seed: UInt64(config.actor.seed)))
    let device = try Device(parsing: config.cluster.placement(of: .actor).device)
    policy.computeInBFloat16 = m.precision.usesBFloat16(on: device)
    try policy.move(to: device)  // trains where the actor will
    var run = SFTRun()
    run.steps = s.steps
    run.batchSize = s.batchSize
    run.learningRate = s.lr
    run.seed = UInt64(config.actor.seed)
    run.cosineSchedule = s.lrSchedule == .cosine
    run.shouldStop = shouldStop
    log("SFT warm start: \(data.count) demonstration steps, \(s.steps) steps of batch \(s.batchSize), matmuls in \(m.precision.summary(on: device))")
    let work = try WorkerPool.forStage("rlinf-sft-worker", Placement(config: config).actor)
    _ = try run.train(policy: policy, data: data, work: work) { p in
      log(String(format: "SFT step %d/%d  loss %.4f  %.0f samples/s  ETA %.0f s", p.step, s.steps, p.loss, p.samplesPerSecond, p.secondsLeft))
      progress(p)
    }
    let temporary = temporaryPath(folder)
    try? FileManager.default.removeItem(atPath: temporary)
    try VLACheckpoint.save(policy, to: temporary)
  }
}
