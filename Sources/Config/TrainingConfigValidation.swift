extension TrainingConfig {
  /// Rejects values out of range and combinations that cannot run together, naming the key.
  public func validate() throws {
    func require(_ ok: Bool, _ key: String, _ problem: @autoclosure () -> String) throws {
      if !ok { throw ConfigError(key, problem()) }
    }
    let a = algorithm, m = actor.model, train = env.train

    try require(runner.maxEpochs == -1 || runner.maxEpochs >= 1, "runner.max_epochs", "must be -1 (forever) or positive, got \(runner.maxEpochs)")
    try require(runner.valCheckInterval == -1 || runner.valCheckInterval >= 1, "runner.val_check_interval", "must be -1 or positive, got \(runner.valCheckInterval)")
    try require(runner.saveInterval == -1 || runner.saveInterval >= 1, "runner.save_interval", "must be -1 or positive, got \(runner.saveInterval)")
    try require(runner.keepLastCheckpoints >= 1, "runner.keep_last_checkpoints", "must be at least 1, got \(runner.keepLastCheckpoints)")
    try require(!runner.experimentName.isEmpty && !runner.experimentName.contains("/"), "runner.logger.experiment_name", "must be a non-empty name without '/'")

    // Ranges.
    try require(a.gamma > 0 && a.gamma <= 1, "algorithm.gamma", "must be in (0, 1], got \(a.gamma)")
    try require(a.gaeLambda >= 0 && a.gaeLambda <= 1, "algorithm.gae_lambda", "must be in [0, 1], got \(a.gaeLambda)")
    try require(a.clipRatioLow > 0 && a.clipRatioLow < 1, "algorithm.clip_ratio_low", "must be in (0, 1), got \(a.clipRatioLow)")
    try require(a.clipRatioHigh > 0, "algorithm.clip_ratio_high", "must be positive, got \(a.clipRatioHigh)")
    if let c = a.clipRatioC { try require(c > 1, "algorithm.clip_ratio_c", "must be greater than 1 (or null to disable), got \(c)") }
    try require(a.valueClip > 0, "algorithm.value_clip", "must be positive, got \(a.valueClip)")
    try require(a.huberDelta > 0, "algorithm.huber_delta", "must be positive, got \(a.huberDelta)")
    try require(a.entropyBonus >= 0, "algorithm.entropy_bonus", "must not be negative, got \(a.entropyBonus)")
    try require(a.updateEpoch >= 1, "algorithm.update_epoch", "must be at least 1, got \(a.updateEpoch)")
    try require(a.rolloutEpoch >= 1, "algorithm.rollout_epoch", "must be at least 1, got \(a.rolloutEpoch)")
    try require(a.rewardCoef > 0, "algorithm.reward_coef", "must be positive, got \(a.rewardCoef)")
    try require(a.sampling.temperatureTrain > 0, "algorithm.sampling_params.temperature_train", "must be positive")
    try require(a.sampling.temperatureEval >= 0, "algorithm.sampling_params.temperature_eval", "must not be negative (0: greedy)")
    try require(a.sampling.topK <= 256, "algorithm.sampling_params.top_k", "at most 256 (the action vocabulary), got \(a.sampling.topK)")
    try require(a.sampling.doSample, "algorithm.sampling_params.do_sample", "RL needs sampled actions during training (greedy decoding is for evaluation)")

    // Algorithm combinations.
    switch a.advType {
    case .gae:
      try require(a.lossType == .actorCritic, "algorithm.loss_type", "adv_type gae needs a critic: use loss_type actor_critic")
      try require(m.addValueHead, "actor.model.add_value_head", "adv_type gae needs the value head: set it true")
      try require(a.rewardType == m.valueType, "actor.model.value_type",
                  "GAE pairs one value with each reward: value_type \(m.valueType.rawValue) does not match reward_type \(a.rewardType.rawValue)")
    case .grpo:
      try require(a.lossType == .actor, "algorithm.loss_type", "adv_type grpo has no critic: a value-head loss (actor_critic) cannot be trained; use loss_type actor")
      try require(a.groupSize >= 2, "algorithm.group_size", "GRPO compares environments within a group: need at least 2, got \(a.groupSize)")
      try require(train.totalNumEnvs % a.groupSize == 0, "algorithm.group_size",
                  "env.train.total_num_envs \(train.totalNumEnvs) is not divisible by group_size \(a.groupSize)")
      try require(actor.optim.criticWarmupSteps == 0, "actor.optim.critic_warmup_steps", "GRPO has no critic to warm up")
      // GRPO scores each environment's first episode of the window and masks the rest; with
      // partial resets the later episodes would run and be thrown away (RLinf needs the loss
      // mask of auto_reset false for GRPO too).
      try require(!train.autoReset, "env.train.auto_reset", "adv_type grpo scores one episode per environment and window: set auto_reset false")
    }
    if a.filterRewards {
      try require(a.groupSize >= 1 && train.totalNumEnvs % a.groupSize == 0, "algorithm.group_size",
                  "the success filter groups environments: env.train.total_num_envs \(train.totalNumEnvs) is not divisible by group_size \(a.groupSize)")
      try require(a.rewardsLowerBound <= a.rewardsUpperBound, "algorithm.rewards_lower_bound",
                  "\(a.rewardsLowerBound) is above rewards_upper_bound \(a.rewardsUpperBound)")
    }
    try require(a.logprobType != .chunkLevel || a.rewardType == .chunkLevel, "algorithm.logprob_type",
                "chunk_level log-probs need chunk_level rewards (an action-level advantage cannot weight a whole chunk's ratio)")

    // Model.
    try require(m.actionDim == 7, "actor.model.action_dim", "the policies emit 7-D actions (xyz, rpy, gripper), got \(m.actionDim)")
    try require(m.numActionChunks >= 1, "actor.model.num_action_chunks", "must be at least 1, got \(m.numActionChunks)")
    try require(m.modelType == .openvlaOFT || m.numActionChunks == 1, "actor.model.num_action_chunks",
                "openvla decodes one action per forward: num_action_chunks must be 1, got \(m.numActionChunks)")
    try require([1, 2, 4, 8].contains(m.patchPool), "actor.model.patch_pool", "must be 1, 2, 4 or 8 (it divides the patch grid), got \(m.patchPool)")
    try require(m.valueType != .tokenLevel, "actor.model.value_type", "values are action_level or chunk_level")
    try require(a.rewardType != .tokenLevel, "algorithm.reward_type", "rewards are action_level or chunk_level")

    // Optimiser.
    let o = actor.optim
    try require(o.lr > 0, "actor.optim.lr", "must be positive, got \(o.lr)")
    try require(o.valueLr > 0, "actor.optim.value_lr", "must be positive, got \(o.valueLr)")
    try require(o.clipGrad > 0, "actor.optim.clip_grad", "must be positive, got \(o.clipGrad)")
    try require(o.criticWarmupSteps >= 0, "actor.optim.critic_warmup_steps", "must not be negative")
    try require((0..<1).contains(o.adamBeta1) && (0..<1).contains(o.adamBeta2), "actor.optim.adam_beta1", "betas must be in [0, 1)")

    // Environments and batch sizes.
    for (name, e) in [("train", env.train), ("eval", env.eval)] {
      try require(["embedded", "maniskill", "libero", "gym"].contains(e.simulatorType), "env.\(name).simulator_type",
                  "\"\(e.simulatorType)\" is not a simulator (embedded, maniskill, libero, gym)")
      if e.simulatorType != "embedded" {
        try require(!e.tasks.isEmpty, "env.\(name).tasks", "a \(e.simulatorType) job names its tasks (e.g. PickCube-v1, libero_spatial/0)")
        try require(e.worker.startTimeout > 0 && e.worker.requestTimeout > 0, "env.\(name).worker", "timeouts must be positive")
      }
      try require(e.totalNumEnvs >= 1, "env.\(name).total_num_envs", "must be at least 1, got \(e.totalNumEnvs)")
      try require(e.maxStepsPerRolloutEpoch >= 1, "env.\(name).max_steps_per_rollout_epoch", "must be positive")
      try require(e.maxStepsPerRolloutEpoch % m.numActionChunks == 0, "env.\(name).max_steps_per_rollout_epoch",
                  "\(e.maxStepsPerRolloutEpoch) steps are not divisible by the chunk size num_action_chunks \(m.numActionChunks)")
      if let steps = e.maxEpisodeSteps { try require(steps >= 1, "env.\(name).max_episode_steps", "must be positive, got \(steps)") }
      try require(["train", "vision", "semantic", "execution"].contains(e.split), "env.\(name).split",
                  "unknown split \"\(e.split)\" (train, vision, semantic, execution)")
      try require(e.numThreads >= 1, "env.\(name).num_threads", "must be at least 1")
      try require(e.rewardMode != .dense || e.simulatorType == "embedded", "env.\(name).reward_mode",
                  "dense (reach and alignment terms) needs the embedded simulator's state; \(e.simulatorType) offers sparse or shaped")
    }
    try require(actor.microBatchSize >= 1 && actor.globalBatchSize % actor.microBatchSize == 0, "actor.global_batch_size",
                "\(actor.globalBatchSize) is not a multiple of micro_batch_size \(actor.microBatchSize)")
    let samples = train.totalNumEnvs * (train.maxStepsPerRolloutEpoch / m.numActionChunks) * a.rolloutEpoch
    try require(actor.globalBatchSize <= samples, "actor.global_batch_size",
                "\(actor.globalBatchSize) is more than one iteration's \(samples) samples (total_num_envs x chunk steps x rollout_epoch)")
    try require(rollout.pipelineStageNum >= 1 && train.totalNumEnvs % rollout.pipelineStageNum == 0, "rollout.pipeline_stage_num",
                "must be at least 1 and divide env.train.total_num_envs \(train.totalNumEnvs)")
    try require(rollout.numThreads >= 1, "rollout.num_threads", "must be at least 1")
    try require((0...1).contains(sft.confusableDistractors), "sft.confusable_distractors", "is a share of the demonstrations: 0 to 1, got \(sft.confusableDistractors)")
    try require(sft.steps >= 1 && sft.batchSize >= 1 && sft.episodesPerTask >= 1, "sft.steps", "steps, batch_size and episodes_per_task must be positive")
    let sub = train.totalNumEnvs / max(rollout.pipelineStageNum, 1)
    if a.advType == .grpo {
      try require(sub % a.groupSize == 0, "rollout.pipeline_stage_num",
                  "splits the \(train.totalNumEnvs) environments into sub-batches of \(sub), which cuts GRPO groups of group_size \(a.groupSize)")
    }
    try validateCluster()
    if sft.enabled {
      try require(sft.episodesPerTask >= 1, "sft.episodes_per_task", "must be at least 1")
      try require(sft.steps >= 1, "sft.steps", "must be at least 1")
      try require(sft.batchSize >= 1, "sft.batch_size", "must be at least 1")
      try require(sft.lr > 0, "sft.lr", "must be positive, got \(sft.lr)")
      try require(actor.model.modelPath == nil, "sft.enabled", "a warm start trains the tiny policy from scratch; it cannot start from actor.model.model_path")
    }
  }

  /// Placement checks that need no knowledge of the machine (the pipeline checks cores and
  /// devices against it at start).
  private func validateCluster() throws {
    func require(_ ok: Bool, _ key: String, _ problem: @autoclosure () -> String) throws {
      if !ok { throw ConfigError(key, problem()) }
    }
    for component in Component.allCases {
      if !cluster.components.isEmpty {
        try require(cluster.components[component] != nil, "cluster.component_placement.\(component.rawValue)",
                    "missing: a placement must give every component (env, rollout, actor) its resources")
      }
      let p = cluster.placement(of: component), key = "cluster.component_placement.\(component.rawValue)"
      if let threads = p.threads {
        try require(threads >= 1, key + ".threads", "must be at least 1, got \(threads)")
        if let cores = p.cores {
          try require(threads <= cores.count, key + ".threads", "\(threads) threads on \(cores.count) core(s) \(cores): more threads than cores")
        }
      }
      let device = p.device
      let known = device == "cpu" || Self.deviceIndex(device, prefix: "cuda:") != nil || (component == .env && Self.deviceIndex(device, prefix: "vulkan:") != nil)
      try require(known, key + ".device", "unknown device \"\(device)\" (\(component == .env ? "cpu, vulkan:N" : "cpu, cuda:N"))")
      if let node = p.numaNode { try require(node >= 0, key + ".numa_node", "must be at least 0, got \(node)") }
    }
    let mode = placementMode
    let env = cluster.placement(of: .env).cores, roll = cluster.placement(of: .rollout).cores
    switch mode {
    case .collocated:
      try require(env == roll, "cluster.placement_mode", "collocated runs env and rollout on the same cores, but env has \(env.map { "\($0)" } ?? "all") and rollout \(roll.map { "\($0)" } ?? "all")")
    case .disaggregated, .hybrid:
      guard let env, let roll else {
        throw ConfigError("cluster.component_placement", "\(mode.rawValue) needs env and rollout on explicit, disjoint core lists (one of them is \"all\" or missing)")
      }
      let overlap = Set(env).intersection(roll).sorted()
      try require(overlap.isEmpty, "cluster.component_placement", "\(mode.rawValue) needs disjoint env and rollout cores; both use \(overlap)")
      if mode == .hybrid {
        try require(rollout.pipelineStageNum >= 2, "rollout.pipeline_stage_num", "hybrid pipelining needs at least 2 sub-batches, got \(rollout.pipelineStageNum)")
      }
    }
  }

  /// N of "cuda:N" / "vulkan:N".
  public static func deviceIndex(_ device: String, prefix: String) -> Int? {
    guard device.hasPrefix(prefix), let n = Int(device.dropFirst(prefix.count)), n >= 0 else { return nil }
    return n
  }
}
