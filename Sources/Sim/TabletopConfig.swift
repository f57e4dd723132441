/// Configuration of a batch of embedded tabletop environments. Every field has a default that
/// runs; `validate()` names the first bad field.
public struct TabletopConfig: Sendable {
  /// Task names; environment i runs tasks[i % tasks.count]. Empty: the split's default tasks.
  public var tasks: [String] = []
  /// Environments stepped together.
  public var numEnvs = 16
  public var split: Split = .inDistribution
  /// Side of the square RGB observations, 64 to 224 pixels.
  public var imageSize = 64
  /// Also render the wrist camera.
  public var wristCamera = false
  /// Render the third-person camera. Off (only with `wristCamera`), `rgb` and `finalRGB` stay
  /// black: for a policy that sees the wrist camera alone, half the rendering is saved.
  public var thirdPersonCamera = true
  /// Worker threads for physics and rendering (each owns a contiguous range of environments).
  public var threads = 1
  /// Base seed: reset-state ids and automatic resets derive episode seeds from it.
  public var seed: UInt64 = 0
  /// Partial reset: an environment that is done starts a new episode inside the step; its true
  /// final observation is kept in the `final*` buffers for bootstrapping.
  public var autoReset = true
  /// Evaluation mode: success does not end an episode; only max_episode_steps does.
  public var ignoreTerminations = false
  /// Dense reward (grasp, consecutive grasp, progress, success; differenced) instead of sparse
  /// success.
  public var shapedReward = false
  /// With `shapedReward`, also a reach term (the palm closing in on the target) and, for cubes,
  /// a jaw-alignment term in the potential (`EnvInstance.shapedPotential`), so the approach
  /// earns reward before any grasp.
  public var reachReward = false
  /// Overrides every task's own max_episode_steps.
  public var maxEpisodeSteps: Int? = nil
  /// Observation renderer: Vulkan where a device exists, else the CPU (identical images).
  public var renderer: RendererKind = .auto
  /// Colour names the distractors are drawn from instead of the split's palette (the task's own
  /// colours still excluded; nil, or nothing left after that: the split's palette). Expert
  /// demonstrations with the other tasks' target colours as distractors make the instruction the
  /// only way to tell which object to take.
  public var distractorColors: [String]? = nil
  /// Training-scene randomisation (train split only): each episode draws its table from
  /// `Palette.tablesSeen`, a milder light than the vision split's (direction, intensity, tint,
  /// ambient) and a camera offset of up to 1 cm. The vision split's table colours, its stronger
  /// lighting and its unseen distractor colours stay unseen (its four distractors too, unless
  /// `maxDistractors` says otherwise).
  public var randomizeAppearance = false
  /// Training-scene clutter (train split only): each episode places between 2 (the split's own
  /// count) and `maxDistractors` distractors, in seen colours; the vision split places 4.
  public var maxDistractors = 2
  /// Training-scene start poses (train split only): the hand starts up to this many metres off
  /// centre in x and y (the split's own 0.04; the execution split's 0.12).
  public var startSpread = 0.04
  /// Vulkan physical device index (nil: the first GPU, else lavapipe).
  public var vulkanDevice: Int? = nil

  public init() {}

  func validate() throws {
    guard numEnvs >= 1 else { throw SimError.invalidConfig("numEnvs must be at least 1 (got \(numEnvs))") }
    guard (64...224).contains(imageSize) else { throw SimError.invalidConfig("imageSize must be 64...224 (got \(imageSize))") }
    for name in distractorColors ?? [] where Palette.named(name) == nil {
      throw SimError.invalidConfig("distractorColors: unknown colour \(name) (\(Palette.all.map(\.name).joined(separator: ", ")))")
    }
    guard thirdPersonCamera || wristCamera else {
      throw SimError.invalidConfig("thirdPersonCamera and wristCamera are both off: no camera would be rendered")
    }
    guard (2...SceneBuilder.distractorSlots).contains(maxDistractors) else {
      throw SimError.invalidConfig("maxDistractors must be 2...\(SceneBuilder.distractorSlots) (got \(maxDistractors))")
    }
    guard (0.0...0.12).contains(startSpread) else {
      throw SimError.invalidConfig("startSpread must be 0...0.12 m (got \(startSpread))")
    }
    guard threads >= 1 else { throw SimError.invalidConfig("threads must be at least 1 (got \(threads))") }
    if let steps = maxEpisodeSteps, steps < 1 { throw SimError.invalidConfig("maxEpisodeSteps must be positive (got \(steps))") }
  }
}

/// The end of one episode, for env/* metrics.
public struct EpisodeSummary: Sendable, Equatable {
  public let env: Int
  public let task: String
  public let successOnce: Bool
  public let successAtEnd: Bool
  public let episodeReturn: Double
  public let length: Int
  /// How a robot's operator ended the episode ("end", "success", "failure"), nil if they did not.
  public var operatorSignal: String? = nil

  /// The same episode numbered in a larger batch whose environment 0 is this batch's `offset`.
  public func offsetting(envBy offset: Int) -> EpisodeSummary {
    EpisodeSummary(env: env + offset, task: task, successOnce: successOnce, successAtEnd: successAtEnd, episodeReturn: episodeReturn, length: length, operatorSignal: operatorSignal)
  }
}
