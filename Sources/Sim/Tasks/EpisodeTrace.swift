/// What happened to the target object during one episode, recorded from privileged simulator
/// state at every step, so that evaluations can say *why* an episode failed.
public struct EpisodeTrace: Sendable, Equatable {
  /// The target's centre was inside the camera's field of view at the first observation.
  public var targetInWristViewAtStart = true
  public var targetInThirdPersonViewAtStart = true
  /// A finger touched the target at some step.
  public var touchedTarget = false
  /// Both fingers held the target at some step.
  public var graspedTarget = false
  /// Both fingers held an object other than the target at some step.
  public var graspedOther = false
  /// A grasp of the target held for two or more steps ended before the task succeeded.
  public var droppedTarget = false
  /// Both fingers held the target at the last step.
  public var holdingAtEnd = false
  /// The other objects both fingers held at some step (bit i = movable slot i).
  public var graspedOtherSlots: UInt32 = 0

  public init() {}
}

/// Why an episode ended the way it did: success, or the first failure cause that applies, in
/// the order listed (a wrong grasp explains more than a missing contact, and so on).
public enum EpisodeOutcome: String, Sendable, CaseIterable, Codable {
  case success
  /// Grasped another object and never the target (e.g. the wrong colour).
  case wrongObject = "wrong_object"
  /// Never touched the target, which was outside the policy's camera view at the start.
  case targetOutOfView = "target_out_of_view"
  /// Never touched the target although it was in view at the start.
  case noContact = "no_contact"
  /// Touched the target but never held it with both fingers (a misaligned grasp).
  case missedGrasp = "missed_grasp"
  /// Held the target, then lost it, and did not succeed afterwards.
  case dropped
  /// Held the target (or still holds it) but did not complete the task in time.
  case unfinished

  /// Classifies an episode; `wrist` says which camera the policy saw.
  public init(success: Bool, trace t: EpisodeTrace, wrist: Bool) {
    let inView = wrist ? t.targetInWristViewAtStart : t.targetInThirdPersonViewAtStart
    self = if success { .success }
      else if t.graspedOther && !t.graspedTarget { .wrongObject }
      else if !t.touchedTarget { inView ? .noContact : .targetOutOfView }
      else if !t.graspedTarget { .missedGrasp }
      else if t.droppedTarget && !t.holdingAtEnd { .dropped }
      else { .unfinished }
  }

  /// A short description for report tables.
  public var summary: String {
    switch self {
    case .success: "succeeded"
    case .wrongObject: "grasped another object, never the target"
    case .targetOutOfView: "target out of view at the start, never touched"
    case .noContact: "target in view, never touched"
    case .missedGrasp: "touched the target, never held it"
    case .dropped: "held the target, then dropped it"
    case .unfinished: "held the target, did not finish in time"
    }
  }
}
