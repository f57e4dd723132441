import Foundation
import Yams

extension TrainingConfig {
  /// Reads and validates a YAML file; errors name the file and the key.
  public static func load(path: String) throws -> TrainingConfig {
    guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
      throw ConfigError("", "cannot read config file \(path)")
    }
    return try parse(yaml: text, source: path)
  }

  /// `parse(yaml:)` whose errors also name where the text came from (a file, a client's label).
  public static func parse(yaml: String, source: String) throws -> TrainingConfig {
    do {
      return try parse(yaml: yaml)
    } catch let error as ConfigError {
      throw ConfigError(error.key, error.problem + " (in \(source))")
    }
  }

  /// Parses YAML text strictly (unknown keys and wrong types are errors) and validates it.
  public static func parse(yaml: String) throws -> TrainingConfig {
    let root: Node?
    do {
      root = try Yams.compose(yaml: yaml)
    } catch let error as YamlError {
      throw ConfigError("", "not valid YAML: " + Self.withoutText(error))
    } catch {
      throw ConfigError("", "not valid YAML")
    }
    let reader = try ConfigReader(path: "", node: root)
    var config = TrainingConfig()
    try config.read(reader)
    try reader.finish()
    try config.validate()
    return config
  }

  /// A YAML error's problem and position, without the snippet of the text Yams quotes.
  static func withoutText(_ error: YamlError) -> String {
    switch error {
    case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
      return "\(problem) at line \(mark.line), column \(mark.column)"
    case .reader(let problem, let offset, _, _):
      return problem + (offset.map { " at byte \($0)" } ?? "")
    case .duplicatedKeysInMapping(let duplicates, let context):
      return "duplicated keys \(duplicates.joined(separator: ", ")) at line \(context.mark.line)"
    default:
      return "cannot parse"
    }
  }

  private mutating func read(_ r: ConfigReader) throws {
    let run = try r.section("runner")
    runner.maxEpochs = try run.int("max_epochs", runner.maxEpochs)
    runner.valCheckInterval = try run.int("val_check_interval", runner.valCheckInterval)
    runner.valBeforeTrain = try run.bool("val_before_train", runner.valBeforeTrain)
    runner.saveInterval = try run.int("save_interval", runner.saveInterval)
    runner.keepLastCheckpoints = try run.int("keep_last_checkpoints", runner.keepLastCheckpoints)
    let logger = try run.section("logger")
    runner.logPath = try logger.string("log_path", runner.logPath)
    runner.experimentName = try logger.string("experiment_name", runner.experimentName)

    let a = try r.section("algorithm")
    algorithm.advType = try a.choice("adv_type", algorithm.advType)
    // GRPO trains no critic: its default loss is actor-only.
    algorithm.lossType = try a.choice("loss_type", algorithm.advType == .grpo ? .actor : .actorCritic)
    algorithm.normalizeAdvantages = try a.bool("normalize_advantages", algorithm.normalizeAdvantages)
    algorithm.groupSize = try a.int("group_size", algorithm.groupSize)
    algorithm.rolloutEpoch = try a.int("rollout_epoch", algorithm.rolloutEpoch)
    algorithm.rewardType = try a.choice("reward_type", algorithm.rewardType)
    algorithm.logprobType = try a.choice("logprob_type", algorithm.logprobType)
    algorithm.entropyType = try a.choice("entropy_type", algorithm.entropyType)
    algorithm.clipRatioLow = try a.double("clip_ratio_low", algorithm.clipRatioLow)
    algorithm.clipRatioHigh = try a.double("clip_ratio_high", algorithm.clipRatioHigh)
    if a.has("clip_ratio_c"), try a.optionalString("clip_ratio_c") == nil {
      algorithm.clipRatioC = nil
    } else {
      algorithm.clipRatioC = try a.double("clip_ratio_c", algorithm.clipRatioC ?? 3.0)
    }
    algorithm.valueClip = try a.double("value_clip", algorithm.valueClip)
    algorithm.huberDelta = try a.double("huber_delta", algorithm.huberDelta)
    algorithm.gamma = try a.double("gamma", algorithm.gamma)
    algorithm.gaeLambda = try a.double("gae_lambda", algorithm.gaeLambda)
    algorithm.entropyBonus = try a.double("entropy_bonus", algorithm.entropyBonus)
    algorithm.updateEpoch = try a.int("update_epoch", algorithm.updateEpoch)
    algorithm.bootstrapType = try a.choice("bootstrap_type", algorithm.bootstrapType)
    algorithm.filterRewards = try a.bool("filter_rewards", algorithm.filterRewards)
    algorithm.rewardsLowerBound = try a.double("rewards_lower_bound", algorithm.rewardsLowerBound)
    algorithm.rewardsUpperBound = try a.double("rewards_upper_bound", algorithm.rewardsUpperBound)
    algorithm.normalizeTrajectoryLength = try a.bool("normalize_trajectory_length", algorithm.normalizeTrajectoryLength)
    algorithm.rewardCoef = try a.double("reward_coef", algorithm.rewardCoef)
    let s = try a.section("sampling_params")
    algorithm.sampling.doSample = try s.bool("do_sample", algorithm.sampling.doSample)
    algorithm.sampling.temperatureTrain = try s.double("temperature_train", algorithm.sampling.temperatureTrain)
    algorithm.sampling.temperatureEval = try s.double("temperature_eval", algorithm.sampling.temperatureEval)
    algorithm.sampling.topK = max(try s.int("top_k", algorithm.sampling.topK), 0)  // RLinf writes -1 for "all"

    let e = try r.section("env")
    try env.train.read(e.section("train"))
    try env.eval.read(e.section("eval"))

    let act = try r.section("actor")
    actor.microBatchSize = try act.int("micro_batch_size", actor.microBatchSize)
    actor.globalBatchSize = try act.int("global_batch_size", actor.globalBatchSize)
    actor.seed = try act.int("seed", actor.seed)
    let m = try act.section("model")
    actor.model.modelPath = try m.optionalString("model_path")
    actor.model.modelType = try m.choice("model_type", actor.model.modelType)
    actor.model.numActionChunks = try m.int("num_action_chunks", actor.model.modelType == .openvla ? 1 : actor.model.numActionChunks)
    actor.model.actionDim = try m.int("action_dim", actor.model.actionDim)
    actor.model.useProprio = try m.bool("use_proprio", actor.model.useProprio)
    actor.model.whiteBalance = try m.bool("white_balance", actor.model.whiteBalance)
    actor.model.patchPool = try m.int("patch_pool", actor.model.patchPool)
    actor.model.precision = try m.choice("precision", actor.model.precision)
    actor.model.useFilm = try m.bool("use_film", actor.model.useFilm)
    actor.model.addValueHead = try m.bool("add_value_head", algorithm.lossType == .actorCritic)
    actor.model.valueType = try m.choice("value_type", actor.model.valueType)
    let o = try act.section("optim")
    actor.optim.lr = try o.double("lr", actor.optim.lr)
    actor.optim.valueLr = try o.double("value_lr", actor.optim.valueLr)
    actor.optim.adamBeta1 = try o.double("adam_beta1", actor.optim.adamBeta1)
    actor.optim.adamBeta2 = try o.double("adam_beta2", actor.optim.adamBeta2)
    actor.optim.adamEps = try o.double("adam_eps", actor.optim.adamEps)
    actor.optim.weightDecay = try o.double("weight_decay", actor.optim.weightDecay)
    actor.optim.clipGrad = try o.double("clip_grad", actor.optim.clipGrad)
    actor.optim.criticWarmupSteps = try o.int("critic_warmup_steps", actor.optim.criticWarmupSteps)

    let ro = try r.section("rollout")
    rollout.pipelineStageNum = try ro.int("pipeline_stage_num", rollout.pipelineStageNum)
    rollout.numThreads = try ro.int("num_threads", rollout.numThreads)

    let w = try r.section("sft")
    sft.enabled = try w.bool("enabled", sft.enabled)
    sft.episodesPerTask = try w.int("episodes_per_task", sft.episodesPerTask)
    sft.steps = try w.int("steps", sft.steps)
    sft.batchSize = try w.int("batch_size", sft.batchSize)
    sft.lr = try w.double("lr", sft.lr)
    let schedule = try w.string("lr_schedule", sft.cosineSchedule ? "cosine" : "constant")
    guard ["constant", "cosine"].contains(schedule) else { throw ConfigError(w.key("lr_schedule"), "unknown value \"\(schedule)\" (expected one of: constant, cosine)") }
    sft.cosineSchedule = schedule == "cosine"
    sft.confusableDistractors = try w.double("confusable_distractors", sft.confusableDistractors)

    let c = try r.section("cluster")
    cluster.placementMode = try c.has("placement_mode") ? c.choice("placement_mode", PlacementMode.collocated) : nil
    let placement = try c.section("component_placement")
    for (names, node) in placement.entries() {
      for name in names.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
        guard let component = Component(rawValue: name) else {
          throw ConfigError(placement.key(names), "unknown component \"\(name)\" (env, rollout, actor)")
        }
        guard cluster.components[component] == nil else { throw ConfigError(placement.key(names), "\(name) is placed twice") }
        cluster.components[component] = try ComponentPlacement.read(node, key: placement.key(names))
      }
    }
  }
}

extension ComponentPlacement {
  /// A core list, or a mapping {cores, threads, device, numa_node}.
  fileprivate static func read(_ node: Node, key: String) throws -> ComponentPlacement {
    func cores(_ text: String, _ key: String) throws -> [Int]? {
      guard let parsed = parseCores(text) else {
        throw ConfigError(key, "\"\(text)\" is not a core list (\"all\", \"3\", \"0-3\", \"0,2,5-7\"; no repeats)")
      }
      return parsed
    }
    if let scalar = node.scalar { return ComponentPlacement(cores: try cores(scalar.string, key)) }
    let r = try ConfigReader(path: key, node: node)
    var p = ComponentPlacement()
    p.cores = try cores(r.string("cores", "all"), r.key("cores"))
    p.threads = try r.has("threads") ? r.int("threads", 1) : nil
    p.device = try r.string("device", p.device)
    p.numaNode = try r.has("numa_node") ? r.int("numa_node", 0) : nil
    try r.finish()
    return p
  }
}

extension EnvConfig {
  fileprivate mutating func read(_ r: ConfigReader) throws {
    simulatorType = try r.string("simulator_type", simulatorType)
    let w = try r.section("worker")
    worker.python = try w.optionalString("python")
    worker.script = try w.string("script", worker.script)
    worker.startTimeout = try w.double("start_timeout", worker.startTimeout)
    worker.requestTimeout = try w.double("request_timeout", worker.requestTimeout)
    for (key, node) in try w.section("options").entries() {
      guard let value = node.scalar?.string else { throw ConfigError("\(w.key("options")).\(key)", "expected a scalar value") }
      worker.options[key] = value
    }
    totalNumEnvs = try r.int("total_num_envs", totalNumEnvs)
    maxStepsPerRolloutEpoch = try r.int("max_steps_per_rollout_epoch", maxStepsPerRolloutEpoch)
    if r.has("max_episode_steps"), try r.optionalString("max_episode_steps") != nil {
      maxEpisodeSteps = try r.int("max_episode_steps", 0)
    }
    autoReset = try r.bool("auto_reset", autoReset)
    ignoreTerminations = try r.bool("ignore_terminations", ignoreTerminations)
    useFixedResetStateIDs = try r.bool("use_fixed_reset_state_ids", useFixedResetStateIDs)
    tasks = try r.strings("tasks", tasks)
    split = try r.string("split", split)
    rewardMode = try r.choice("reward_mode", rewardMode)
    useWristImage = try r.bool("use_wrist_image", useWristImage)
    numThreads = try r.int("num_threads", numThreads)
    seed = try r.int("seed", seed)
  }
}
