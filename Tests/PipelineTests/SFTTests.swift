import Foundation
import Models
@testable import Pipeline
import RL
import Sim
import Staging
import Testing
import TestSupport
import Torch

@Suite struct SFTTests {
  /// The shipped tiny tokenizer is what training on its frozen corpus of instructions produces,
  /// and it covers every instruction of the suite, newer tasks too, without unknown pieces.
  @Test func shippedTokenizerIsReproducible() throws {
    let shipped = try SentencePieceTokenizer(path: repositoryRoot + "/" + TinyTokenizer.shippedPath)
    let trained = try TinyTokenizer.train()
    #expect(shipped.modelBytes == trained.modelBytes)
    for task in TaskCatalog.allTasks {
      let ids = try shipped.encode(PromptBatchText.prompt(task.instruction))
      #expect(!ids.contains(0), "\(task.name) has unknown pieces")
    }
  }

  /// SFT on a fixed set of demonstrations drives the action-token loss down, for both heads.
  @Test(arguments: [(ActionHead.openvla, 1), (ActionHead.oft, 2)])
  func sftLossFalls(head: ActionHead, chunks: Int) throws {
    let dir = try temporaryDirectory("sft")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let dataset = try DemoRecorder.record(tasks: ["pick-red-cube", "push-red-cube-green-marker"], episodesPerTask: 2, threads: 2)
    try dataset.write(to: dir + "/d.demos.safetensors")
    let data = try DemoData(path: dir + "/d.demos.safetensors")
    #expect(throws: ModelError.self) { try DemoData(path: dir + "/d.demos.safetensors", camera: "wrist_rgb") }
    #expect(data.count == dataset.steps && data.taskNames == ["pick-red-cube", "push-red-cube-green-marker"])

    let tokenizer = try TinyTokenizer.train()
    var config = VLAConfig.tiny(head: head, numActionChunks: chunks, textVocabulary: tokenizer.vocabularySize)
    config.vision[0].depth = 2
    config.llm.numHiddenLayers = 2
    let policy = try VLAPolicy(config: config, tokenizer: tokenizer, generator: Generator(seed: 0))
    let probe = try data.batch(rows: Array(0..<16), chunk: chunks, tokenizer: policy.actionTokenizer)
    func probeLoss() throws -> Double {
      try Autograd.withNoGrad {
        try SupervisedFineTuning.loss(policy: policy, images: probe.images, instructions: probe.instructions, targetTokens: probe.tokens).item()
      }
    }
    let initial = try probeLoss()
    var run = SFTRun()
    run.steps = 30
    run.batchSize = 8
    run.learningRate = 2e-3
    run.logEvery = 10
    let history = try run.train(policy: policy, data: data) { _ in }
    #expect(history.count == 3)
    #expect(initial > 4.5, "an untrained policy is near uniform over 256 tokens (log 256 = 5.5)")
    let final = try probeLoss()
    #expect(final < 0.5 * initial, "loss \(initial) -> \(final)")

    // Target tokens of a chunk come from consecutive steps of the same episode.
    let batch = try data.batch(rows: [0], chunk: 2, tokenizer: policy.actionTokenizer)
    let tokens = try batch.tokens.ints()
    let expected = (0..<2).flatMap { k in (0..<7).map { d in policy.actionTokenizer.token(for: Double(data.actions[k * 7 + d])) } }
    #expect(tokens == expected)
  }

  @Test func closedLoopEvaluationCountsEpisodes() throws {
    let tokenizer = try TinyTokenizer.train()
    var config = VLAConfig.tiny(head: .oft, numActionChunks: 4, textVocabulary: tokenizer.vocabularySize)
    config.vision[0].depth = 2
    config.llm.numHiddenLayers = 2
    let policy = try VLAPolicy(config: config, tokenizer: tokenizer, generator: Generator(seed: 0))
    let result = try ClosedLoopEvaluation.run(policy: policy, tasks: ["pick-red-cube", "pick-green-cube"], episodesPerTask: 2)
    #expect(result.perTask["pick-red-cube"]?.episodes == 2 && result.perTask["pick-green-cube"]?.episodes == 2)
    #expect(result.successRate == 0, "an untrained policy does not pick things up")
    // Every episode has one outcome, and none of them is a success.
    for outcome in result.perTask.values {
      #expect(outcome.outcomes.values.reduce(0, +) == outcome.episodes && outcome.outcomes[.success] == nil)
    }
  }

  /// The same tally with the scripted expert acting: its successes are counted, per task, and
  /// agree with the simulator's own record of each episode.
  @Test func closedLoopEvaluationCountsSuccesses() throws {
    var config = TabletopConfig()
    config.tasks = ["pick-red-cube", "pick-green-cube"].flatMap { Array(repeating: $0, count: 3) }
    config.numEnvs = config.tasks.count
    config.autoReset = false
    config.seed = 1000
    let env = try TabletopEnv(config: config)
    let expert = ScriptedExpert(env: env)
    var recorded = [Bool?](repeating: nil, count: env.numEnvs)  // the simulator's flag at each episode's end
    let result = try ClosedLoopEvaluation.episodes(env: env, chunk: 1, wristCamera: false, video: nil) {
      for i in 0..<env.numEnvs where recorded[i] == nil && (env.terminated[i] || env.truncated[i]) { recorded[i] = env.successOnce(i) }
      return expert.actions()
    }
    for i in 0..<env.numEnvs where recorded[i] == nil { recorded[i] = env.successOnce(i) }
    let successes = recorded.filter { $0 == true }.count
    #expect(successes >= 4, "the expert picks up most cubes: \(recorded)")
    #expect(result.episodes == 6 && result.perTask["pick-red-cube"]?.episodes == 3)
    #expect(result.perTask.values.reduce(0) { $0 + $1.successes } == successes)
    #expect(result.successRate == Double(successes) / 6)
    #expect(result.perTask.values.reduce(0) { $0 + ($1.outcomes[.success] ?? 0) } == successes)
  }

  /// Splitting the policy's batch over two workers changes nothing in greedy evaluation: the same
  /// outcome for every task as on one thread.
  @Test func evaluationOnWorkersMatchesOneThread() throws {
    let tokenizer = try TinyTokenizer.train()
    var config = VLAConfig.tiny(head: .oft, numActionChunks: 4, textVocabulary: tokenizer.vocabularySize, proprioDim: 8)
    config.vision[0].depth = 2
    config.llm.numHiddenLayers = 2
    let policy = try VLAPolicy(config: config, tokenizer: tokenizer, generator: Generator(seed: 4))
    let cpus = Machine.current().cpus
    let pool = try WorkerPool(name: "test-eval", resources: StageResources(component: .actor, cores: Array(cpus.prefix(2)), threads: min(2, cpus.count), device: "cpu", numaNode: nil))
    func evaluate(_ work: ParallelWork) throws -> [String: [EpisodeOutcome: Int]] {
      try ClosedLoopEvaluation.run(
        policy: policy, tasks: ["pick-red-cube", "pick-blue-cylinder"], episodesPerTask: 3, wristCamera: true, maxEpisodeSteps: 12, work: work
      ).perTask.mapValues(\.outcomes)
    }
    #expect(try evaluate(SerialWork()) == evaluate(pool))
  }

  /// The ranks of a job each evaluate a shard of the episodes: the shards' results, merged, are
  /// the whole evaluation's, per task and outcome (4 shards of 6 episodes: 1, 2, 1, 2 each).
  @Test func shardsOfAnEvaluationMergeIntoTheWhole() throws {
    let tokenizer = try TinyTokenizer.train()
    var config = VLAConfig.tiny(head: .oft, numActionChunks: 4, textVocabulary: tokenizer.vocabularySize, proprioDim: 8)
    config.vision[0].depth = 2
    config.llm.numHiddenLayers = 2
    let policy = try VLAPolicy(config: config, tokenizer: tokenizer, generator: Generator(seed: 4))
    func evaluate(_ shard: ClosedLoopEvaluation.Shard) throws -> ClosedLoopEvaluation.Result {
      try ClosedLoopEvaluation.run(
        policy: policy, tasks: ["pick-red-cube", "pick-blue-cylinder", "push-red-cube-green-marker"], episodesPerTask: 2, wristCamera: true,
        maxEpisodeSteps: 12, shard: shard)
    }
    let whole = try evaluate(.whole)
    let shards = try (0..<4).map { try evaluate(ClosedLoopEvaluation.Shard(index: $0, count: 4)) }
    #expect(shards.map(\.episodes) == [1, 2, 1, 2])
    let merged = ClosedLoopEvaluation.Result.merged(shards)
    #expect(merged.episodes == 6 && whole.episodes == 6)
    for (task, outcome) in whole.perTask {
      let m = merged.perTask[task]
      #expect(m?.episodes == outcome.episodes && m?.successes == outcome.successes && m?.outcomes == outcome.outcomes, "\(task)")
      #expect(m?.targetOutOfViewAtStart == outcome.targetOutOfViewAtStart && m?.wrongObjects == outcome.wrongObjects, "\(task)")
    }
    #expect(try evaluate(ClosedLoopEvaluation.Shard(index: 0, count: 8)).episodes == 0, "8 shards of 6: some are empty")
  }
}
