/// A training job's configuration, shaped like RLinf-VLA's YAML (runner / algorithm / env /
/// actor / rollout) with its key names, so its configs carry over. The initial values below are
/// the defaults; what each field means, its YAML key, its range and whether a running job can
/// change it are in `TrainingConfig.knobs` (KnobTable.swift; listed in docs/config-keys.md).
/// `TrainingConfig.load(path:)` reads a file strictly and validates it before any work starts.
public struct TrainingConfig: Sendable {
  public var runner = RunnerConfig()
  public var algorithm = AlgorithmConfig()
  public var env = EnvConfigs()
  public var actor = ActorConfig()
  public var rollout = RolloutConfig()
  public var cluster = ClusterConfig()
  public var sft = SFTConfig()
  public var serve = ServeConfig()

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
  public var episodesPerTask = 40
  public var steps = 1000
  public var batchSize = 32
  public var lr = 1e-3
  public var lrSchedule = LRSchedule.constant
  public var confusableDistractors = 0.0
  /// Whether the demonstrations' scenes vary as env.train's do (randomize_appearance, start_spread,
  /// max_distractors); nil: as env.train, false: the seed's canonical scenes.
  public var randomizeScenes: Bool? = nil
  public init() {}
}

/// `serve.*`: rlinfd serves the training policy to robots over openpi's protocol while the job
/// runs (rlinf-serve does the same for a checkpoint).
public struct ServeConfig: Sendable {
  public var enabled = false
  public var host = "127.0.0.1"
  public var port = 8000
  public var apiKey: String? = nil
  public var weights = ServedWeights.rollout
  public var imageKey = "observation/image"
  public var wristImageKey = "observation/wrist_image"
  public var stateKey = "observation/state"
  public var promptKey = "prompt"
  public init() {}

  /// Whether `host` is a loopback address (the only kind served without an API key).
  public static func isLoopback(_ host: String) -> Bool { ["127.0.0.1", "::1", "localhost"].contains(host) || host.hasPrefix("127.") }
}

/// `runner.*`: how long to train and how often to evaluate and save.
public struct RunnerConfig: Sendable {
  public var experimentName = "run"
  public var logPath = "runs"
  public var maxEpochs = 100
  public var valCheckInterval = -1
  public var valBeforeTrain = false
  public var saveInterval = -1
  public var keepLastCheckpoints = 3
  public init() {}
}

/// `algorithm.*`: advantages, losses and the update.
public struct AlgorithmConfig: Sendable {
  public var advType = AdvantageType.gae
  public var lossType = LossType.actorCritic
  public var normalizeAdvantages = true
  public var groupSize = 1
  public var rolloutEpoch = 1
  public var rewardType = Granularity.chunkLevel
  public var logprobType = Granularity.tokenLevel
  public var entropyType = Granularity.tokenLevel
  public var clipRatioLow = 0.2
  public var clipRatioHigh = 0.28
  public var clipRatioC: Double? = 3.0
  public var valueClip = 0.2
  public var huberDelta = 10.0
  public var gamma = 0.99
  public var gaeLambda = 0.95
  public var entropyBonus = 0.0
  public var updateEpoch = 1
  public var bootstrapType = BootstrapType.standard
  public var filterRewards = false
  public var rewardsLowerBound = 0.1
  public var rewardsUpperBound = 0.9
  public var normalizeTrajectoryLength = false
  public var rewardCoef = 1.0
  public var sampling = SamplingParams()
  public init() {}
}

/// `algorithm.sampling_params.*`
public struct SamplingParams: Sendable {
  public var doSample = true
  public var temperatureTrain = 1.0
  public var temperatureEval = 1.0
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
  public var simulatorType = "embedded"
  public var worker = WorkerConfig()
  public var totalNumEnvs = 16
  public var maxStepsPerRolloutEpoch = 64
  public var maxEpisodeSteps: Int? = nil
  public var autoReset = true
  public var ignoreTerminations = false
  public var useFixedResetStateIDs = false
  public var tasks: [String] = []
  public var split = "train"
  public var rewardMode = RewardMode.sparse
  public var useWristImage = false
  /// Train-split scenes vary table, light and camera mildly (embedded; env.train only).
  public var randomizeAppearance = false
  /// Train-split scenes place 2 to this many seen-colour distractors (embedded; env.train only).
  public var maxDistractors = 2
  /// Train-split episodes start the hand up to this far off centre, metres (embedded; env.train only).
  public var startSpread = 0.04
  public var numThreads = 2
  public var seed = 0
  public init() {}
}

/// `env.*.worker`: the Python simulator workers (tools/env_worker.py), one per env sub-batch.
public struct WorkerConfig: Sendable {
  public var python: String?
  public var script = "tools/env_worker.py"
  public var options: [String: String] = [:]
  public var startTimeout = 300.0
  public var requestTimeout = 120.0
  public var addresses: [String] = []
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
  /// With several ranks: gradient buckets' all-reduces overlap the backward (Megatron's knob).
  public var overlapGradReduce = true
  public var seed = 1234
  public var model = ModelConfig()
  public var optim = OptimConfig()
  public init() {}
}

/// `actor.model.*`
public struct ModelConfig: Sendable {
  public var modelPath: String? = nil
  public var modelType = PolicyModelType.openvlaOFT
  public var numActionChunks = 4
  public var actionDim = 7
  public var useProprio = false
  public var whiteBalance = false
  public var patchPool = 1
  public var precision = Precision.fp32
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
  public var criticWarmupSteps = 0
  public init() {}
}

/// `rollout.*`
public struct RolloutConfig: Sendable {
  public var pipelineStageNum = 1
  public var numThreads = 2
  public init() {}
}
