// rlinf-sft: supervised fine-tuning of a VLA policy on the embedded simulator's expert
// demonstrations, with the success rate measured in closed loop before and after.
import ArgumentParser
import CSys
import Dispatch
import Foundation

import Models
import Pipeline
import Sim
import Staging
import Torch

@main
struct RlinfSFT: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rlinf-sft", abstract: "Supervised fine-tuning of VLA policies on expert demonstrations.",
    subcommands: [Train.self, Evaluate.self, Compare.self, Tokenizer.self])
}

extension ActionHead: ExpressibleByArgument {}
extension Split: ExpressibleByArgument {}

struct Tokenizer: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Write the tiny configuration's SentencePiece model.")
  @Option(help: "Output path.") var out = TinyTokenizer.shippedPath

  func run() throws {
    let tokenizer = try TinyTokenizer.train()
    try tokenizer.modelBytes.write(to: URL(fileURLWithPath: out))
    print("wrote \(out): \(tokenizer.vocabularySize) pieces")
  }
}

/// One line per task: successes / episodes, then the failures by outcome.
func printPerTask(_ result: ClosedLoopEvaluation.Result, _ names: [String]) {
  for name in names {
    let r = result.perTask[name]!
    let failures = EpisodeOutcome.allCases.filter { $0 != .success && r.outcomes[$0, default: 0] > 0 }
      .map { "\($0.rawValue) \(r.outcomes[$0]!)" }.joined(separator: ", ")
    let wrong = r.wrongObjects.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    print("  \(name.padding(toLength: 28, withPad: " ", startingAt: 0)) \(r.successes)/\(r.episodes)" + (failures.isEmpty ? "" : "   failures: " + failures)
      + (r.targetOutOfViewAtStart > 0 ? "   (target out of view at the start: \(r.targetOutOfViewAtStart))" : "")
      + (wrong.isEmpty ? "" : "   wrong objects: " + wrong))
  }
}

struct Evaluate: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "eval", abstract: "Measure a checkpoint's success rate in closed loop.")
  @Argument(help: "Checkpoint folder.") var checkpoint: String
  @Option(help: "Comma-separated tasks.") var tasks = "pick-red-cube,pick-green-cube,pick-blue-cylinder,pick-yellow-sphere,pick-purple-cylinder"
  @Option(help: "Episodes per task.") var episodes = 10
  @Option(help: "train, vision, semantic or execution.") var split: Split = .inDistribution
  @Flag(help: "The policy sees the wrist camera.") var wrist = false
  @Option(help: "Write a GIF of the first four episodes here.") var video: String?
  @Option(help: "Sampling temperature (0: greedy).") var temperature = 0.0
  @Option(help: "Worker threads.") var threads = 2
  @Option(help: "Reset-state seed of the episodes (RL jobs evaluate with 1000 + env.eval.seed; another seed gives fresh episodes).") var seed: UInt64 = 1000
  @Flag(help: "bfloat16 matmuls (autocast), as actor.model.precision: bf16.") var bf16 = false

  func run() throws {
    csys_line_buffered_stdout()
    TorchRuntime.configureThreads(threads)
    let policy = try VLACheckpoint.load(from: checkpoint)
    policy.computeInBFloat16 = bf16
    let names = tasks.split(separator: ",").map(String.init)
    let result = try ClosedLoopEvaluation.run(
      policy: policy, tasks: names, episodesPerTask: episodes, split: split, seed: seed, threads: threads,
      sampling: temperature == 0 ? SamplingSettings(greedy: true) : SamplingSettings(temperature: temperature), wristCamera: wrist, video: video,
      work: WorkerPool.forStage("rlinf-eval-worker", StageResources(component: .actor, cores: Array(Machine.current().cpus.prefix(threads)), threads: threads, device: "cpu", numaNode: nil)))
    print(String(format: "success: %.1f%% of %d episodes (%@ split, %@)", 100 * result.successRate, names.count * episodes, split.rawValue,
                 temperature == 0 ? "greedy" : String(format: "sampled at T = %.2f", temperature)))
    printPerTask(result, names)
    if let video { print("video: \(video)") }
  }
}

struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Record demonstrations, fine-tune the tiny policy, evaluate it.")
  @Option(help: "openvla or oft.") var head: ActionHead = .oft
  @Option(help: "Action chunk size K (oft).") var chunks = 4
  @Option(help: "Comma-separated tasks (default: the five pick tasks).") var tasks = "pick-red-cube,pick-green-cube,pick-blue-cylinder,pick-yellow-sphere,pick-purple-cylinder"
  @Option(help: "Expert episodes per task to record (ignored with --demos).") var episodes = 40
  @Option(help: "Use this demonstration file instead of recording.") var demos: String?
  @Option(help: "Std of the noise added to the expert's executed arm actions while recording (labels stay clean).") var actionNoise = 0.0
  @Option(help: "Share of each task's episodes whose distractors take the other tasks' target colours (the instruction decides).") var confusers = 0.0
  @Option(help: "Optimiser steps.") var steps = 1500
  @Option(help: "Batch size.") var batch = 32
  @Option(help: "Learning rate.") var lr = 1e-3
  @Flag(help: "Cosine learning-rate decay (after a 5% warm-up) instead of a constant rate.") var cosine = false
  @Option(help: "Evaluation episodes per task, before and after training.") var evalEpisodes = 10
  @Option(help: "Worker threads (libtorch intra-op and simulator).") var threads = 2
  @Option(help: "Where the policy trains and runs: cpu or cuda:N (needs a CUDA libtorch).") var device = "cpu"
  @Option(help: "Checkpoint directory to write.") var out = "runs/sft"
  @Option(help: "Seed.") var seed: UInt64 = 0
  @Flag(help: "Feed the proprioceptive state as a token after the image (OpenVLA-OFT's proprio projector).") var proprio = false
  @Flag(help: "The policy sees the wrist camera instead of the third-person view.") var wrist = false
  @Flag(help: "Grey-world white balance of the policy's images (each channel divided by its image mean).") var whiteBalance = false
  @Option(help: "Average-pool the image patch grid by this factor per side before the language model (1: every patch).") var patchPool = 1
  @Flag(help: "bfloat16 matmuls (autocast) over float32 weights, as actor.model.precision: bf16.") var bf16 = false
  @Flag(help: "Condition the vision encoder on the instruction (FiLM, as OpenVLA-OFT+; actor.model.use_film).") var film = false

  func run() throws {
    csys_line_buffered_stdout()
    TorchRuntime.configureThreads(threads)
    TorchRuntime.manualSeed(seed)
    let placeOn = try Device(parsing: device)
    try TorchRuntime.validate(placeOn)  // before minutes of recording
    let start = DispatchTime.now().uptimeNanoseconds
    func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
    let taskNames = tasks.split(separator: ",").map(String.init)

    let demoPath = demos ?? out + "/demos.demos.safetensors"
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    if demos == nil {
      print("recording \(episodes) expert episodes of each of \(taskNames.count) tasks ...")
      let dataset = try DemoRecorder.record(
        tasks: taskNames, episodesPerTask: episodes, wristCamera: wrist, actionNoise: actionNoise, confusableFraction: confusers, seed: seed,
        threads: threads) { print("  " + $0) }
      try dataset.write(to: demoPath)
    }
    let data = try DemoData(path: demoPath, camera: wrist ? "wrist_rgb" : "rgb")
    print(String(format: "demonstrations: %d steps (%.0f s so far)", data.count, elapsed()))

    let tokenizer = try TinyTokenizer.load()
    let config = VLAConfig.tiny(
      head: head, numActionChunks: chunks, textVocabulary: tokenizer.vocabularySize, proprioDim: proprio ? TabletopEnv.stateSize : 0,
      whiteBalance: whiteBalance, patchPool: patchPool, film: film)
    let policy = try VLAPolicy(config: config, tokenizer: tokenizer, generator: Generator(seed: seed))
    policy.computeInBFloat16 = bf16
    try policy.move(to: placeOn)
    print("policy: tiny \(head.rawValue), K = \(config.numActionChunks), proprio \(proprio ? "on" : "off"), camera \(wrist ? "wrist" : "third-person"), white balance \(whiteBalance ? "on" : "off"), patch pool \(patchPool), FiLM \(film ? "on" : "off"), \(policy.parameterCount) parameters on \(policy.device)")

    let work = try WorkerPool.forStage(
      "rlinf-sft-worker", StageResources(component: .actor, cores: Array(Machine.current().cpus.prefix(threads)), threads: threads, device: device, numaNode: nil))
    let before = try ClosedLoopEvaluation.run(policy: policy, tasks: taskNames, episodesPerTask: evalEpisodes, threads: threads, wristCamera: wrist, work: work)
    print(String(format: "success before SFT: %.1f%% (%.0f s so far)", 100 * before.successRate, elapsed()))

    var run = SFTRun()
    run.steps = steps
    run.batchSize = batch
    run.learningRate = lr
    run.cosineSchedule = cosine
    run.seed = seed
    _ = try run.train(policy: policy, data: data, work: work) { p in
      print(String(format: "sft step %5d/%d  loss %.4f  %.0f samples/s  ETA %.0f s", p.step, steps, p.loss, p.samplesPerSecond, p.secondsLeft))
    }
    try VLACheckpoint.save(policy, to: out + "/checkpoint")

    let after = try ClosedLoopEvaluation.run(policy: policy, tasks: taskNames, episodesPerTask: evalEpisodes, threads: threads, wristCamera: wrist, work: work)
    print(String(format: "\nsuccess after SFT: %.1f%% (before: %.1f%%), %d episodes, %.0f s in all", 100 * after.successRate, 100 * before.successRate, after.episodes, elapsed()))
    printPerTask(after, taskNames)
    print("checkpoint: \(out)/checkpoint")
  }
}
