/// Shapes of the movable objects (sizes in `SceneBuilder`).
public enum Shape: String, Sendable, CaseIterable {
  case cube, cylinder, sphere

  /// The noun used in instructions.
  public var noun: String {
    switch self {
    case .cube: "cube"
    case .cylinder: "can"
    case .sphere: "ball"
    }
  }
}

/// The task families of the suite. Each has an instruction template, a success test and a
/// scripted expert.
public enum TaskFamily: String, Sendable, CaseIterable {
  /// "pick up the red cube": lift it 6 cm above the table.
  case pick
  /// "put the red cube on the blue plate".
  case place
  /// "push the red cube to the blue target": slide it onto a flat marker.
  case push
  /// "stack the red cube on the blue cube".
  case stack
  /// "move the red cube to the left of the blue can" (left and right as seen by the camera).
  case arrange
  /// "put the red ball in the blue bowl".
  case bowl
}

/// What the second object of a task is.
public enum ReferenceKind: String, Sendable {
  case object, plate, marker, bowl
}

/// One named task: a family instantiated with objects, colours and an instruction.
public struct TaskSpec: Sendable, Hashable {
  public let name: String
  public let family: TaskFamily
  public let targetShape: Shape
  public let targetColor: NamedColor
  /// Kind, shape (for objects) and colour of the reference; nil for `pick`.
  public let referenceKind: ReferenceKind?
  public let referenceShape: Shape?
  public let referenceColor: NamedColor?
  /// For `arrange`: true = to the left of the reference.
  public let left: Bool
  public let maxEpisodeSteps: Int

  public var instruction: String {
    let target = "the \(targetColor.name) \(targetShape.noun)"
    let reference = referenceColor.map { color -> String in
      switch referenceKind! {
      case .object: "the \(color.name) \(referenceShape!.noun)"
      case .plate: "the \(color.name) plate"
      case .marker: "the \(color.name) target"
      case .bowl: "the \(color.name) bowl"
      }
    } ?? ""
    switch family {
    case .pick: return "pick up \(target)"
    case .place: return "put \(target) on \(reference)"
    case .push: return "push \(target) to \(reference)"
    case .stack: return "stack \(target) on \(reference)"
    case .arrange: return "move \(target) to the \(left ? "left" : "right") of \(reference)"
    case .bowl: return "put \(target) in \(reference)"
    }
  }
}
