/// Every knob of a training config, in the order the reader takes them (a knob whose default
/// depends on another comes after it). Defaults are the initial values in TrainingConfig.swift.
extension TrainingConfig {
  public static let knobs: [Knob] = runnerKnobs + algorithmKnobs + envKnobs("train", \.env.train) + envKnobs("eval", \.env.eval)
    + actorKnobs + rolloutKnobs + sftKnobs + clusterKnobs + serveKnobs

  /// The knob of a dotted key, nil if there is none.
  public static func knob(_ key: String) -> Knob? { knobs.first { $0.key == key } }

  private static let runnerKnobs: [Knob] = [
    .field("runner.max_epochs", \.runner.maxEpochs, live: true, check: Rule.interval, "training iterations (rollout + update); -1 runs until stopped"),
    .field("runner.val_check_interval", \.runner.valCheckInterval, live: true, check: Rule.interval, "evaluate on env.eval every N iterations (-1: never)"),
    .field("runner.val_before_train", \.runner.valBeforeTrain, "evaluate the starting policy before the first iteration, logged as step 0"),
    .field("runner.save_interval", \.runner.saveInterval, live: true, check: Rule.interval, "checkpoint every N iterations (-1: never)"),
    .field("runner.keep_last_checkpoints", \.runner.keepLastCheckpoints, check: Rule.atLeastOne, "complete checkpoints kept, besides the best-evaluated one and the one handed over"),
    .field("runner.logger.log_path", \.runner.logPath, "folder that holds the runs"),
    .field("runner.logger.experiment_name", \.runner.experimentName, check: { $0.isEmpty || $0.contains("/") ? "must be a non-empty name without '/'" : nil },
           "the run's folder under log_path (metrics, checkpoints, videos)"),
  ]

  private static let algorithmKnobs: [Knob] = [
    .field("algorithm.adv_type", \.algorithm.advType, "gae: advantages from a learned value head (PPO); grpo: group-relative scores (GRPO)"),
    .field("algorithm.loss_type", \.algorithm.lossType, default: { $0.algorithm.advType == .grpo ? .actor : .actorCritic },
           defaultNote: "actor_critic (actor with adv_type grpo)", "actor_critic trains policy and value head; actor the policy alone"),
    .field("algorithm.normalize_advantages", \.algorithm.normalizeAdvantages, "normalise advantages to zero mean, unit std over the batch"),
    .field("algorithm.group_size", \.algorithm.groupSize, check: Rule.atLeastOne, "environments per group sharing a reset state (GRPO groups, the success filter)"),
    .field("algorithm.rollout_epoch", \.algorithm.rolloutEpoch, check: Rule.atLeastOne, "rollout windows collected per iteration"),
    .field("algorithm.reward_type", \.algorithm.rewardType, check: { $0 == .tokenLevel ? "rewards are action_level or chunk_level" : nil },
           "one reward per action or per chunk"),
    .field("algorithm.logprob_type", \.algorithm.logprobType, "granularity of the PPO ratio: per token, action or chunk"),
    .field("algorithm.entropy_type", \.algorithm.entropyType, "granularity of the entropy bonus"),
    .field("algorithm.clip_ratio_low", \.algorithm.clipRatioLow, check: { $0 > 0 && $0 < 1 ? nil : "must be in (0, 1), got \($0)" }, "PPO clips the ratio below 1 - this"),
    .field("algorithm.clip_ratio_high", \.algorithm.clipRatioHigh, check: Rule.positive, "PPO clips the ratio above 1 + this"),
    .field("algorithm.clip_ratio_c", \.algorithm.clipRatioC, check: { c in c.flatMap { $0 > 1 ? nil : "must be greater than 1 (or null to disable), got \($0)" } },
           "dual clip: the loss of a negative advantage is at most this times it (null: off)"),
    .field("algorithm.value_clip", \.algorithm.valueClip, check: Rule.positive, "values move at most this far from the rollout's in the clipped critic loss"),
    .field("algorithm.huber_delta", \.algorithm.huberDelta, check: Rule.positive, "the critic's Huber loss is quadratic within this distance"),
    .field("algorithm.gamma", \.algorithm.gamma, check: { $0 > 0 && $0 <= 1 ? nil : "must be in (0, 1], got \($0)" }, "discount per reward step"),
    .field("algorithm.gae_lambda", \.algorithm.gaeLambda, check: Rule.unitInterval, "GAE's lambda"),
    .field("algorithm.entropy_bonus", \.algorithm.entropyBonus, live: true, check: Rule.nonNegative, "entropy bonus coefficient"),
    .field("algorithm.update_epoch", \.algorithm.updateEpoch, check: Rule.atLeastOne, "passes over the iteration's samples"),
    .field("algorithm.bootstrap_type", \.algorithm.bootstrapType,
           "which episode ends earn + gamma V(final observation): standard on truncation, always also on termination, none never"),
    .field("algorithm.filter_rewards", \.algorithm.filterRewards, "success filter: groups whose mean reward is outside the bounds get no loss"),
    .field("algorithm.rewards_lower_bound", \.algorithm.rewardsLowerBound, "the success filter's lower bound on a group's mean reward"),
    .field("algorithm.rewards_upper_bound", \.algorithm.rewardsUpperBound, "the success filter's upper bound on a group's mean reward"),
    .field("algorithm.normalize_trajectory_length", \.algorithm.normalizeTrajectoryLength, "normalise the policy and critic losses by each sample's episode length"),
    .field("algorithm.reward_coef", \.algorithm.rewardCoef, check: Rule.positive, "multiplies the environment's reward"),
    .field("algorithm.sampling_params.do_sample", \.algorithm.sampling.doSample,
           check: { $0 ? nil : "RL needs sampled actions during training (greedy decoding is for evaluation)" }, "sample training actions (must be true for RL)"),
    .field("algorithm.sampling_params.temperature_train", \.algorithm.sampling.temperatureTrain, live: true, check: Rule.positive, "sampling temperature of training rollouts"),
    .field("algorithm.sampling_params.temperature_eval", \.algorithm.sampling.temperatureEval, live: true, check: Rule.nonNegative, "evaluation temperature (0: greedy)"),
    .field("algorithm.sampling_params.top_k", \.algorithm.sampling.topK, adjust: { max($0, 0) },
           check: { $0 <= 256 ? nil : "at most 256 (the action vocabulary), got \($0)" }, "sample among the k likeliest action tokens (0 or RLinf's -1: all)"),
  ]

  private static func envKnobs(_ side: String, _ env: WritableKeyPath<TrainingConfig, EnvConfig>) -> [Knob] {
    let p = "env.\(side)."
    return [
      .field(p + "simulator_type", env.appending(path: \.simulatorType), check: Rule.oneOf(EnvConfig.simulators),
             "embedded (the built-in tabletop suite), a Python worker benchmark (maniskill, libero, gym), or remote robots over TCP"),
      .field(p + "worker.python", env.appending(path: \.worker.python),
             "the worker's interpreter (null: the venv tools/setup-sims makes, .venv for gym)"),
      .field(p + "worker.script", env.appending(path: \.worker.script), "the worker script, relative to the working directory"),
      .field(p + "worker.start_timeout", env.appending(path: \.worker.startTimeout), check: Rule.positive,
             "seconds a worker may take to start (remote: to accept a connection)"),
      .field(p + "worker.request_timeout", env.appending(path: \.worker.requestTimeout), check: Rule.positive,
             "seconds a worker may take to answer one request (remote: to stay silent, heartbeats included)"),
      .field(p + "worker.addresses", env.appending(path: \.worker.addresses),
             "simulator_type remote: the robots' host:port (tools/robot_env.py), one per env sub-batch"),
      .structured(p + "worker.options", env.appending(path: \.worker.options), spelling: "a mapping of names to scalars",
                  text: describeOptions, read: readWorkerOptions,
                  "backend options passed to the worker as strings (sim_backend, shadows, ...)"),
      .field(p + "total_num_envs", env.appending(path: \.totalNumEnvs), check: Rule.atLeastOne, "environments stepped together"),
      .field(p + "max_steps_per_rollout_epoch", env.appending(path: \.maxStepsPerRolloutEpoch), check: Rule.atLeastOne,
             "environment steps per rollout window (a multiple of num_action_chunks)"),
      .field(p + "max_episode_steps", env.appending(path: \.maxEpisodeSteps), check: { n in n.flatMap { $0 >= 1 ? nil : "must be positive, got \($0)" } },
             "overrides the tasks' own episode length (null: each task's)"),
      .field(p + "auto_reset", env.appending(path: \.autoReset), "an environment whose episode ends starts the next one inside the window"),
      .field(p + "ignore_terminations", env.appending(path: \.ignoreTerminations), "success does not end an episode; only the time limit does"),
      .field(p + "use_fixed_reset_state_ids", env.appending(path: \.useFixedResetStateIDs), "every window resets to the same reset states (else fresh ones)"),
      .field(p + "tasks", env.appending(path: \.tasks), "task names (empty: the split's default tasks)"),
      .field(p + "split", env.appending(path: \.split), check: Rule.oneOf(EnvConfig.splits), "the embedded suite's split: train, vision, semantic, execution"),
      .field(p + "reward_mode", env.appending(path: \.rewardMode), "sparse success, RLinf's shaped terms, or dense (shaped plus reaching; embedded only)"),
      .field(p + "use_wrist_image", env.appending(path: \.useWristImage), "the policy sees the wrist camera instead of the third-person one"),
      .field(p + "randomize_appearance", env.appending(path: \.randomizeAppearance),
             "env.train, embedded, train split: each episode (rollouts, and the warm start's demonstrations unless sft.randomize_scenes is false) draws a seen table colour, a milder light than the vision split's and a camera offset up to 1 cm"),
      .field(p + "max_distractors", env.appending(path: \.maxDistractors), check: Rule.inRange(2...4),
             "env.train, embedded, train split: each episode places 2 to this many distractors in seen colours (the vision split places 4 in any colour)"),
      .field(p + "start_spread", env.appending(path: \.startSpread), check: { (0...0.12).contains($0) ? nil : "must be 0...0.12 m, got \($0)" },
             "env.train, embedded, train split: the hand starts up to this many metres off centre in x and y (the execution split's 0.12)"),
      .field(p + "num_threads", env.appending(path: \.numThreads), check: Rule.atLeastOne, "simulator worker threads"),
      .field(p + "seed", env.appending(path: \.seed), "seed of reset states and simulator noise"),
    ]
  }

  private static let actorKnobs: [Knob] = [
    .field("actor.micro_batch_size", \.actor.microBatchSize, check: Rule.atLeastOne, "samples per forward/backward pass"),
    .field("actor.global_batch_size", \.actor.globalBatchSize, check: Rule.atLeastOne, "samples per optimizer step (a multiple of micro_batch_size)"),
    .field("actor.overlap_grad_reduce", \.actor.overlapGradReduce,
           "with several ranks, each gradient bucket's all-reduce starts during the backward that completes it (one update worker per rank); false: after the backward"),
    .field("actor.seed", \.actor.seed, "seed of weights, sampling, shuffling and demonstrations"),
    .field("actor.model.model_path", \.actor.model.modelPath, "checkpoint folder to start from (null: the tiny configuration, random weights)"),
    .field("actor.model.model_type", \.actor.model.modelType, "openvla: 7 action tokens one at a time; openvla_oft: K x 7 tokens in one forward"),
    .field("actor.model.num_action_chunks", \.actor.model.numActionChunks,
           default: { $0.actor.model.modelType == .openvla ? 1 : $0.actor.model.numActionChunks }, defaultNote: "4 (1 with model_type openvla)",
           check: Rule.atLeastOne, "actions decoded per forward (K)"),
    .field("actor.model.action_dim", \.actor.model.actionDim, check: { $0 == 7 ? nil : "the policies emit 7-D actions (xyz, rpy, gripper), got \($0)" },
           "action dimensions (7: xyz, rpy, gripper)"),
    .field("actor.model.use_proprio", \.actor.model.useProprio, "the policy also sees the robot's state"),
    .field("actor.model.white_balance", \.actor.model.whiteBalance, "grey-world white balance of the tiny configuration's images (a checkpoint must agree)"),
    .field("actor.model.patch_pool", \.actor.model.patchPool,
           check: { [1, 2, 4, 8].contains($0) ? nil : "must be 1, 2, 4 or 8 (it divides the patch grid), got \($0)" },
           "the tiny configuration average-pools its patch grid by this per side (a checkpoint must agree)"),
    .field("actor.model.precision", \.actor.model.precision, "fp32; bf16 matmuls (autocast) over float32 weights and optimizer state; or auto: bf16 where the device computes it in hardware (CUDA, AVX512-BF16/AMX CPUs), else fp32"),
    .field("actor.model.use_film", \.actor.model.useFilm, "the tiny configuration conditions its vision encoder on the instruction (FiLM; a checkpoint must agree)"),
    .field("actor.model.add_value_head", \.actor.model.addValueHead, default: { $0.algorithm.lossType == .actorCritic },
           defaultNote: "true with loss_type actor_critic, else false", "the policy carries a value head"),
    .field("actor.model.value_type", \.actor.model.valueType, check: { $0 == .tokenLevel ? "values are action_level or chunk_level" : nil },
           "one value per action or per chunk (must match reward_type for GAE)"),
    .field("actor.optim.lr", \.actor.optim.lr, live: true, check: Rule.positive, "policy learning rate (AdamW)"),
    .field("actor.optim.value_lr", \.actor.optim.valueLr, live: true, check: Rule.positive, "value-head learning rate"),
    .field("actor.optim.adam_beta1", \.actor.optim.adamBeta1, check: Rule.beta, "AdamW's beta1"),
    .field("actor.optim.adam_beta2", \.actor.optim.adamBeta2, check: Rule.beta, "AdamW's beta2"),
    .field("actor.optim.adam_eps", \.actor.optim.adamEps, check: Rule.positive, "AdamW's epsilon"),
    .field("actor.optim.weight_decay", \.actor.optim.weightDecay, check: Rule.nonNegative, "AdamW's decoupled weight decay"),
    .field("actor.optim.clip_grad", \.actor.optim.clipGrad, check: Rule.positive, "gradients are clipped to this global norm"),
    .field("actor.optim.critic_warmup_steps", \.actor.optim.criticWarmupSteps, check: Rule.nonNegative, "updates at the start that train only the value head"),
  ]

  private static let rolloutKnobs: [Knob] = [
    .field("rollout.pipeline_stage_num", \.rollout.pipelineStageNum, check: Rule.atLeastOne,
           "sub-batches of the env batch pipelined against inference (1: no pipelining)"),
    .field("rollout.num_threads", \.rollout.numThreads, check: Rule.atLeastOne, "libtorch intra-op threads for inference and training"),
  ]

  private static let sftKnobs: [Knob] = [
    .field("sft.enabled", \.sft.enabled, "rlinfd warm-starts the policy on scripted experts' demonstrations before RL, once"),
    .field("sft.episodes_per_task", \.sft.episodesPerTask, check: Rule.atLeastOne, "expert episodes recorded per task of env.train"),
    .field("sft.steps", \.sft.steps, check: Rule.atLeastOne, "supervised optimizer steps"),
    .field("sft.batch_size", \.sft.batchSize, check: Rule.atLeastOne, "samples per supervised step"),
    .field("sft.lr", \.sft.lr, check: Rule.positive, "supervised learning rate"),
    .field("sft.lr_schedule", \.sft.lrSchedule, "constant, or cosine (5% linear warm-up, then cosine decay to zero)"),
    .field("sft.confusable_distractors", \.sft.confusableDistractors, check: Rule.unitInterval,
           "share of demonstrations whose distractors take the other tasks' target colours"),
    .field("sft.randomize_scenes", \.sft.randomizeScenes, defaultNote: "null: as env.train",
           "the demonstrations' scenes vary as env.train's (randomize_appearance, max_distractors, start_spread); false: the seed's canonical scenes, while RL still varies its own"),
  ]

  private static let clusterKnobs: [Knob] = [
    .field("cluster.placement_mode", \.cluster.placementMode,
           defaultNote: "null: collocated when env and rollout share cores, else hybrid with pipeline_stage_num > 1, else disaggregated",
           "collocated, disaggregated or hybrid; auto: each candidate placement collects a few windows at the start and the fastest is kept"),
    .structured("cluster.component_placement", \.cluster.components, spelling: "a mapping of components to core lists or {cores, threads, device, numa_node}",
                text: describePlacement, read: readPlacement, "where env, rollout and actor run (none: every component on every core)"),
    .field("cluster.world_size", \.cluster.worldSize, check: Rule.atLeastOne,
           "data-parallel ranks (processes) of the job; the env WORLD_SIZE overrides it"),
    .field("cluster.rank", \.cluster.rank, check: Rule.nonNegative, "this process's rank, 0 to world_size - 1; the env RANK overrides it"),
    .field("cluster.local_rank", \.cluster.localRank, defaultNote: "null: the rank",
           "this rank's index on its machine, which a device cuda:local_rank becomes; the env LOCAL_RANK overrides it"),
    .field("cluster.master_addr", \.cluster.masterAddr, "address where rank 0 serves the rendezvous store; the env MASTER_ADDR overrides it"),
    .field("cluster.master_port", \.cluster.masterPort, check: { (1...65535).contains($0) ? nil : "must be a TCP port (1 to 65535), got \($0)" },
           "port of the rendezvous store; the env MASTER_PORT overrides it"),
    .field("cluster.collective_timeout", \.cluster.collectiveTimeout, check: Rule.positive,
           "seconds a rank waits for the others (rendezvous, every collective) before stopping with an error"),
    .field("cluster.backend", \.cluster.backend,
           "torch.distributed backend for CUDA tensors: gloo, nccl (a libtorch with NCCL) or auto (nccl when the actor is on CUDA and libtorch has it); CPU tensors always use gloo"),
  ]
}

extension TrainingConfig {
  private static let serveKnobs: [Knob] = [
    .field("serve.enabled", \.serve.enabled, "rlinfd serves the job's policy to robots over openpi's WebSocket protocol while it trains"),
    .field("serve.host", \.serve.host, "address the policy server binds (beyond loopback it needs api_key)"),
    .field("serve.port", \.serve.port, check: { (0...65535).contains($0) ? nil : "must be a TCP port (0 to 65535; 0 picks a free one), got \($0)" },
           "port of the policy server (0: a free one, shown by rlinfctl status)"),
    .field("serve.api_key", \.serve.apiKey, "clients must send Authorization: Api-Key <this> (null: no key, loopback only)"),
    .field("serve.weights", \.serve.weights, "rollout: the weights of the latest iteration; checkpoint: the newest checkpoint written"),
    .field("serve.image_key", \.serve.imageKey, "observation key of the third-person image, uint8 [H, W, 3]"),
    .field("serve.wrist_image_key", \.serve.wristImageKey, "observation key of the wrist image (used when env.eval.use_wrist_image)"),
    .field("serve.state_key", \.serve.stateKey, "observation key of the robot state (policies with use_proprio)"),
    .field("serve.prompt_key", \.serve.promptKey, "observation key of the instruction"),
  ]
}

extension EnvConfig {
  /// `simulator_type` values.
  public static let simulators = ["embedded", "maniskill", "libero", "gym", "remote"]
  /// The embedded suite's splits.
  public static let splits = ["train", "vision", "semantic", "execution"]
}
