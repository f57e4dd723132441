/// Evaluation splits, after RLinf-VLA's out-of-distribution study.
public enum Split: String, Sendable, CaseIterable {
  /// Training conditions: seen colours, two distractors, the training pose region.
  case inDistribution = "train"
  /// Unseen distractor colours, table colours ("textures as colours"), lighting, and four
  /// distractors instead of two.
  case vision
  /// Instructions naming object/colour combinations never trained on (TaskCatalog.semanticTasks).
  case semantic
  /// Unseen initial poses (a wider region, the gripper started elsewhere) and the target object
  /// moved once mid-episode.
  case execution

  /// The tasks a split evaluates when the config names none.
  public var defaultTasks: [TaskSpec] {
    self == .semantic ? TaskCatalog.semanticTasks : TaskCatalog.trainTasks
  }
}

/// What one episode looks like beyond the task: sampled at reset from the episode seed.
struct EpisodeVariation: Sendable {
  var slotColors: [SIMD3<Float>]      // per movable slot
  var fixtureColor: SIMD3<Float>
  var tableColor: SIMD3<Float>
  var activeDistractors: Int
  var lightDirection: SIMD3<Float>
  var lightColor: SIMD3<Float>
  var ambient: Float
  var cameraJitter: SIMD3<Float>
  /// Execution split: the step at which the target object is moved (nil: never).
  var moveTargetAtStep: Int?
}
