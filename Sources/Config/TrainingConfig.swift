/// A training job's configuration, shaped like RLinf-VLA's YAML (runner / algorithm / env /
/// actor / rollout) with its key names, so its configs carry over. Every field has a default;
/// `TrainingConfig.load(path:)` reads a file strictly and validates it before any work starts.
public struct TrainingConfig: Sendable {
  public var runner = RunnerConfig()
  public var algorithm = AlgorithmConfig()
  public var env = EnvConfigs()
  public var actor = ActorConfig()
  public var rollout = RolloutConfig()
  public var cluster = ClusterConfig()
  public var sft = SFTConfig()

  public init() {}
}

extension TrainingConfig {
  /// The placement mode: `cluster.placement_mode`, or derived from where env and rollout run.
  public var placementMode: PlacementMode {
    if let mode = cluster.placementMode { return mode }
    let envCores = cluster.placement(of: .env).cores, rolloutCores = cluster.placement(of: .rollout).cores
    guard let envCores, let rolloutCores, Set(envCores).isDisjoint(with: rolloutCores) else { return .collocated }
    return rollout.pipelineStageNum > 1 ? .hybrid : .disaggregated
  }
}

/// `sft.*`: supervised warm start from the simulator's scripted experts, run by rlinfd before
/// RL when the job has no checkpoint yet (RLinf starts from an SFT checkpoint made elsewhere).
public struct SFTConfig: Sendable {
  public var enabled = false
  /// Expert episodes recorded per task of env.train.
  public var episodesPerTask = 40
  public var steps = 1000
  public var batchSize = 32
  public var lr = 1e-3
  /// `lr_schedule`: `constant`, or `cosine` (5% linear warm-up, then cosine decay to zero).
  public var cosineSchedule = false
  /// `confusable_distractors`: the share of each task's demonstrations whose distractors take
  /// the other env.train tasks' target colours, so the instruction decides which object to take.
  public var confusableDistractors = 0.0
  public init() {}
}

/// `runner.*`: how long to train and how often to evaluate and save.
public struct RunnerConfig: Sendable {
  /// `experiment_name`: the run's folder under `log_path`.
  public var experimentName = "run"
  /// `logger.log_path`
  public var logPath = "runs"
  /// `max_epochs`: training iterations (rollout + update); -1 runs until stopped.
  public var maxEpochs = 100
  /// `val_check_interval`: evaluate every N iterations (-1: never).
  public var valCheckInterval = -1
  /// `val_before_train`: evaluate the starting policy (e.g. the SFT base) before the first
  /// iteration, logged as step 0, so learning curves start at the base.
  public var valBeforeTrain = false
  /// `save_interval`: checkpoint every N iterations (-1: never).
  public var saveInterval = -1
  /// `keep_last_checkpoints`: complete checkpoints kept (besides the best-evaluated one).
  public var keepLastCheckpoints = 3
  public init() {}
}

/// `algorithm.*`: advantages, losses and the update.
public struct AlgorithmConfig: Sendable {
  public var advType = AdvantageType.gae
  public var lossType = LossType.actorCritic
  public var normalizeAdvantages = true
  /// Environments per GRPO group (they share a reset state).
  public var groupSize = 1
  /// Rollout windows collected per iteration.
  public var rolloutEpoch = 1
  public var rewardType = Granularity.chunkLevel
  public var logprobType = Granularity.tokenLevel
  public var entropyType = Granularity.tokenLevel
  public var clipRatioLow = 0.2
  public var clipRatioHigh = 0.28
  /// Dual clip; null disables it.
  public var clipRatioC: Double? = 3.0
  public var valueClip = 0.2
  public var huberDelta = 10.0
  public var gamma = 0.99
  public var gaeLambda = 0.95
  public var entropyBonus = 0.0
  public var updateEpoch = 1
  public var bootstrapType = BootstrapType.standard
  /// RLinf's success filter, for GRPO and GAE alike: consecutive groups of `group_size`
  /// environments whose mean window reward is outside the bounds get no loss.
  public var filterRewards = false
  public var rewardsLowerBound = 0.1
  public var rewardsUpperBound = 0.9
  /// Trajectory-length normalisation of the policy and critic losses.
  public var normalizeTrajectoryLength = false
  /// Multiplies the environment's reward.
  public var rewardCoef = 1.0
  public var sampling = SamplingParams()
  public init() {}
}

/// `algorithm.sampling_params.*`
public struct SamplingParams: Sendable {
  public var doSample = true
  public var temperatureTrain = 1.0
  /// Evaluation samples at this temperature, as RLinf does; 0 decodes greedily (argmax).
  public var temperatureEval = 1.0
  /// Top-k over the 256 action tokens; 0 (or RLinf's -1) keeps all.
  public var topK = 0
  public init() {}
}

/// `env.train` and `env.eval`.
public struct EnvConfigs: Sendable {
  public var train = EnvConfig()
  public var eval: EnvConfig = {
    var e = EnvConfig()
    e.autoReset = false
    e.totalNumEnvs = 32
    return e
  }()
  public init() {}
}

/// One batch of environments.
public struct EnvConfig: Sendable {
  /// `simulator_type`: `embedded` (the built-in tabletop suite), or a Python worker benchmark:
  /// `maniskill` (ManiSkill3), `libero`, `gym` (gymnasium classic control, for tests).
  public var simulatorType = "embedded"
  /// `worker.*`: how Python worker benchmarks run (ignored by the embedded simulator).
  public var worker = WorkerConfig()
  public var totalNumEnvs = 16
  /// Environment steps per rollout window (a multiple of the chunk size).
  public var maxStepsPerRolloutEpoch = 64
  /// Overrides the tasks' own episode length (null: each task's).
  public var maxEpisodeSteps: Int? = nil
  public var autoReset = true
  public var ignoreTerminations = false
  /// Reset every window to the same reset-state ids (otherwise fresh ones each window).
  public var useFixedResetStateIDs = false
  /// Task names (empty: the split's default tasks).
  public var tasks: [String] = []
  /// `train`, `vision`, `semantic` or `execution`.
  public var split = "train"
  public var rewardMode = RewardMode.sparse
  /// `use_wrist_image`: the policy sees the wrist camera instead of the third-person one.
  public var useWristImage = false
  /// `num_threads`: simulator worker threads.
  public var numThreads = 2
  public var seed = 0
  public init() {}
}

/// `env.*.worker`: the Python simulator workers (tools/env_worker.py), one per env sub-batch.
public struct WorkerConfig: Sendable {
  /// The interpreter (nil: the venv tools/setup-sims makes for the simulator,
  /// .venv-maniskill or .venv-libero; .venv for gym).
  public var python: String?
  /// The worker script (relative paths are taken from the daemon's working directory).
  public var script = "tools/env_worker.py"
  /// Backend options passed to the worker as strings: sim_backend (cpu, gpu), reward_mode
  /// (sparse, normalized_dense), shadows, max_episode_steps, reward_coef, ...
  public var options: [String: String] = [:]
  /// Seconds a worker may take to start, and to answer one request.
  public var startTimeout = 300.0
  public var requestTimeout = 120.0
  public init() {}

  /// The interpreter to run for `simulator`.
  public func pythonPath(simulator: String) -> String {
    python ?? (simulator == "gym" ? ".venv/bin/python" : ".venv-\(simulator)/bin/rlinf-python")
  }
}

/// `actor.*`: the policy, its optimiser and the update's batch sizes.
public struct ActorConfig: Sendable {
  public var microBatchSize = 16
  public var globalBatchSize = 64
  public var seed = 1234
  public var model = ModelConfig()
  public var optim = OptimConfig()
  public init() {}
}

/// `actor.model.*`
public struct ModelConfig: Sendable {
  /// `model_path`: a checkpoint folder to start from (e.g. the SFT base); null builds the tiny
  /// configuration with random weights.
  public var modelPath: String? = nil
  public var modelType = PolicyModelType.openvlaOFT
  public var numActionChunks = 4
  public var actionDim = 7
  public var useProprio = false
  /// `white_balance`: grey-world white balance of the policy's images (Models' ViTConfig) in the
  /// tiny configuration built here or by the SFT warm start; a checkpoint must agree.
  public var whiteBalance = false
  /// `patch_pool`: the tiny configuration average-pools its image patch grid by this factor per
  /// side before the language model (Models' VLAConfig.patchPool; 2 = a quarter of the image
  /// tokens); a checkpoint must agree.
  public var patchPool = 1
  /// `precision`: `fp32`, or `bf16` (matmuls in bfloat16 through autocast, weights, optimizer
  /// state, log-probs and values in float32) for training, rollout and evaluation.
  public var precision = Precision.fp32
  /// `use_film`: the tiny configuration conditions its vision encoder on the instruction
  /// (FiLM, as OpenVLA-OFT+); a checkpoint must agree.
  public var useFilm = false
  public var addValueHead = true
  public var valueType = Granularity.chunkLevel
  public init() {}
}

/// `actor.optim.*` (AdamW).
public struct OptimConfig: Sendable {
  public var lr = 1e-4
  public var valueLr = 3e-3
  public var adamBeta1 = 0.9
  public var adamBeta2 = 0.999
  public var adamEps = 1e-8
  public var weightDecay = 0.01
  public var clipGrad = 1.0
  /// Updates at the start that train only the value head.
  public var criticWarmupSteps = 0
  public init() {}
}

/// `rollout.*`
public struct RolloutConfig: Sendable {
  /// Sub-batches of the env batch pipelined against inference (1: no pipelining).
  public var pipelineStageNum = 1
  /// libtorch intra-op threads for inference and training.
  public var numThreads = 2
  public init() {}
}
