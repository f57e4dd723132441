extension TrainingConfig {
  /// Rejects values out of range and combinations that cannot run together, naming the key.
  public func validate() throws {
    func require(_ ok: Bool, _ key: String, _ problem: @autoclosure () -> String) throws {
      if !ok { throw ConfigError(key, problem()) }
    }
    let a = algorithm, m = actor.model, train = env.train

    // Each knob's own range.
    for knob in Self.knobs {
      if let problem = knob.check(self) { throw ConfigError(knob.key, problem) }
    }

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
      try require(train.totalNumEnvs % a.groupSize == 0, "algorithm.group_size",
                  "the success filter groups environments: env.train.total_num_envs \(train.totalNumEnvs) is not divisible by group_size \(a.groupSize)")
      try require(a.rewardsLowerBound <= a.rewardsUpperBound, "algorithm.rewards_lower_bound",
                  "\(a.rewardsLowerBound) is above rewards_upper_bound \(a.rewardsUpperBound)")
    }
    try require(a.logprobType != .chunkLevel || a.rewardType == .chunkLevel, "algorithm.logprob_type",
                "chunk_level log-probs need chunk_level rewards (an action-level advantage cannot weight a whole chunk's ratio)")

    // Model.
    try require(m.modelType == .openvlaOFT || m.numActionChunks == 1, "actor.model.num_action_chunks",
                "openvla decodes one action per forward: num_action_chunks must be 1, got \(m.numActionChunks)")

    // Environments and batch sizes.
    for (name, e) in [("train", env.train), ("eval", env.eval)] {
      if e.simulatorType != "embedded" {
        try require(!e.tasks.isEmpty, "env.\(name).tasks", "a \(e.simulatorType) job names its tasks (e.g. PickCube-v1, libero_spatial/0)")
      }
      if e.simulatorType == "remote" {
        try require(name == "train", "env.eval.simulator_type", "remote robots train online; evaluate the policy on a simulator, or serve it to the robot (serve.enabled)")
        try require(e.worker.addresses.count == rollout.pipelineStageNum, "env.train.worker.addresses",
                    "names \(e.worker.addresses.count) robots; each of the \(rollout.pipelineStageNum) env sub-batches (rollout.pipeline_stage_num) needs one")
      }
      try require(e.maxStepsPerRolloutEpoch % m.numActionChunks == 0, "env.\(name).max_steps_per_rollout_epoch",
                  "\(e.maxStepsPerRolloutEpoch) steps are not divisible by the chunk size num_action_chunks \(m.numActionChunks)")
      try require(e.rewardMode != .dense || e.simulatorType == "embedded", "env.\(name).reward_mode",
                  "dense (reach and alignment terms) needs the embedded simulator's state; \(e.simulatorType) offers sparse or shaped")
      // The training-scene knobs: each away from its default varies the embedded train split.
      let plain = EnvConfig()
      let sceneKnobs = [
        ("randomize_appearance", e.randomizeAppearance != plain.randomizeAppearance),
        ("max_distractors", e.maxDistractors != plain.maxDistractors), ("start_spread", e.startSpread != plain.startSpread),
      ]
      for (key, varied) in sceneKnobs where varied {
        try require(name == "train", "env.eval.\(key)", "evaluations run the split's own scenes; vary the training scenes (env.train)")
        try require(e.simulatorType == "embedded" && e.split == "train", "env.train.\(key)",
                    "varies the embedded simulator's train-split scenes; this env is \(e.simulatorType), split \(e.split)")
      }
    }
    try require(actor.globalBatchSize % actor.microBatchSize == 0, "actor.global_batch_size",
                "\(actor.globalBatchSize) is not a multiple of micro_batch_size \(actor.microBatchSize)")
    let samples = train.totalNumEnvs * (train.maxStepsPerRolloutEpoch / m.numActionChunks) * a.rolloutEpoch
    try require(actor.globalBatchSize <= samples, "actor.global_batch_size",
                "\(actor.globalBatchSize) is more than one iteration's \(samples) samples (total_num_envs x chunk steps x rollout_epoch)")
    try require(train.totalNumEnvs % rollout.pipelineStageNum == 0, "rollout.pipeline_stage_num",
                "must divide env.train.total_num_envs \(train.totalNumEnvs)")
    let sub = train.totalNumEnvs / rollout.pipelineStageNum
    if a.advType == .grpo {
      try require(sub % a.groupSize == 0, "rollout.pipeline_stage_num",
                  "splits the \(train.totalNumEnvs) environments into sub-batches of \(sub), which cuts GRPO groups of group_size \(a.groupSize)")
    }
    try validateCluster()
    try validateRanks()
    if serve.enabled {
      try require(ServeConfig.isLoopback(serve.host) || serve.apiKey != nil, "serve.api_key", "serving \(serve.host) beyond loopback needs an API key, so only robots that know it can drive the policy")
    }
    if sft.enabled {
      try require(actor.model.modelPath == nil, "sft.enabled", "a warm start trains the tiny policy from scratch; it cannot start from actor.model.model_path")
    }
  }

  /// Placement checks that need no knowledge of the machine (the pipeline checks cores and
  /// devices against it at start).
  private func validateCluster() throws {
    func require(_ ok: Bool, _ key: String, _ problem: @autoclosure () -> String) throws {
      if !ok { throw ConfigError(key, problem()) }
    }
    let resolved = resolvingLocalRankDevices  // `cuda:local_rank` is checked as the index it becomes
    for component in Component.allCases {
      // With auto only the actor may be placed; the measurement places env and rollout.
      if !cluster.components.isEmpty && placementMode != .auto {
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
      let device = resolved.cluster.placement(of: component).device
      let known = device == "cpu" || Self.deviceIndex(device, prefix: "cuda:") != nil || (component == .env && Self.deviceIndex(device, prefix: "vulkan:") != nil)
      try require(known, key + ".device", "unknown device \"\(p.device)\" (\(component == .env ? "cpu, vulkan:N" : "cpu, cuda:N"), N a number or local_rank)")
      if let node = p.numaNode { try require(node >= 0, key + ".numa_node", "must be at least 0, got \(node)") }
    }
    let mode = placementMode
    let env = cluster.placement(of: .env).cores, roll = cluster.placement(of: .rollout).cores
    switch mode {
    case .auto:
      try require(cluster.worldSize == 1, "cluster.placement_mode",
                  "auto profiles the placements of one process; give the \(cluster.worldSize) ranks a manual placement")
      try require(cluster.components[.env] == nil && cluster.components[.rollout] == nil, "cluster.component_placement",
                  "auto chooses where env and rollout run: leave them out (the actor may be placed)")
      try require(self.env.train.simulatorType == "embedded", "cluster.placement_mode",
                  "auto profiles the embedded simulator; \(self.env.train.simulatorType) workers take too long to start once per candidate: place them by hand")
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

  /// Data-parallel ranks: each rank's share of the environments must hold whole sub-batches
  /// and whole GRPO groups, and the global batch must split evenly.
  private func validateRanks() throws {
    func require(_ ok: Bool, _ key: String, _ problem: @autoclosure () -> String) throws {
      if !ok { throw ConfigError(key, problem()) }
    }
    let world = cluster.worldSize, train = env.train, a = algorithm
    try require(cluster.rank < world, "cluster.rank", "\(cluster.rank) is not a rank of world_size \(world) (0 to \(world - 1))")
    guard world > 1 else { return }
    try require(train.totalNumEnvs % world == 0, "cluster.world_size",
                "env.train.total_num_envs \(train.totalNumEnvs) does not split over \(world) ranks")
    let share = train.totalNumEnvs / world
    try require(share % rollout.pipelineStageNum == 0, "rollout.pipeline_stage_num",
                "must divide each rank's \(share) environments (env.train.total_num_envs / world_size)")
    if a.advType == .grpo || a.filterRewards {
      try require(share % a.groupSize == 0, "cluster.world_size",
                  "each rank's \(share) environments would cut GRPO groups of group_size \(a.groupSize) across ranks")
    }
    try require(actor.globalBatchSize % world == 0, "actor.global_batch_size",
                "\(actor.globalBatchSize) does not split over \(world) ranks")
    try require(train.simulatorType != "remote", "cluster.world_size", "robots (simulator_type remote) train with one rank")
    try require(!sft.enabled, "sft.enabled", "the warm start runs in a job of one rank; start the ranks from its checkpoint (actor.model.model_path)")
  }

  /// N of "cuda:N" / "vulkan:N".
  public static func deviceIndex(_ device: String, prefix: String) -> Int? {
    guard device.hasPrefix(prefix), let n = Int(device.dropFirst(prefix.count)), n >= 0 else { return nil }
    return n
  }
}
