/// The named tasks of the embedded suite, like ManiSkill's task list or a LIBERO suite.
///
/// `trainTasks` (30, six families) use seen colours and combinations. `semanticTasks` (11) name
/// object/colour combinations that never occur in training, for the semantic split. The first
/// three recombine the words of the three pick tasks the headline trains on (red cube, green
/// cube, blue cylinder); of the rest, pick-orange-cube and pick-red-sphere name a colour or a
/// shape those picks never name, and the others combine words of the 30 training tasks anew.
public enum TaskCatalog {
  static func task(
    _ family: TaskFamily, _ shape: Shape, _ color: NamedColor, _ kind: ReferenceKind? = nil,
    _ referenceShape: Shape? = nil, _ referenceColor: NamedColor? = nil, left: Bool = false
  ) -> TaskSpec {
    var name = "\(family.rawValue)-\(color.name)-\(shape.rawValue)"
    if let kind, let referenceColor {
      if family == .arrange { name += left ? "-left-of" : "-right-of" }
      name += "-\(referenceColor.name)-\(kind == .object ? referenceShape!.rawValue : kind.rawValue)"
    }
    let steps: Int = switch family {
    case .pick: 60
    case .push: 80
    default: 100
    }
    return TaskSpec(
      name: name, family: family, targetShape: shape, targetColor: color, referenceKind: kind,
      referenceShape: referenceShape, referenceColor: referenceColor, left: left, maxEpisodeSteps: steps)
  }

  public static let trainTasks: [TaskSpec] = {
    typealias P = Palette
    return [
      task(.pick, .cube, P.red), task(.pick, .cube, P.green), task(.pick, .cylinder, P.blue),
      task(.pick, .sphere, P.yellow), task(.pick, .cylinder, P.purple),
      task(.place, .cube, P.red, .plate, nil, P.blue), task(.place, .cube, P.yellow, .plate, nil, P.green),
      task(.place, .cylinder, P.orange, .plate, nil, P.purple), task(.place, .sphere, P.green, .plate, nil, P.red),
      task(.place, .cube, P.blue, .plate, nil, P.yellow),
      task(.push, .cube, P.red, .marker, nil, P.green), task(.push, .cube, P.blue, .marker, nil, P.orange),
      task(.push, .cylinder, P.yellow, .marker, nil, P.blue), task(.push, .cube, P.purple, .marker, nil, P.red),
      task(.push, .cylinder, P.green, .marker, nil, P.yellow),
      task(.stack, .cube, P.red, .object, .cube, P.blue), task(.stack, .cube, P.green, .object, .cube, P.yellow),
      task(.stack, .cube, P.orange, .object, .cube, P.purple), task(.stack, .cube, P.blue, .object, .cube, P.red),
      task(.stack, .cube, P.yellow, .object, .cube, P.green),
      task(.arrange, .cube, P.red, .object, .cylinder, P.blue, left: true),
      task(.arrange, .cube, P.green, .object, .cube, P.purple, left: false),
      task(.arrange, .cylinder, P.yellow, .object, .cube, P.red, left: true),
      task(.arrange, .cube, P.blue, .object, .cylinder, P.orange, left: false),
      task(.arrange, .sphere, P.purple, .object, .cube, P.green, left: true),
      task(.bowl, .cube, P.red, .bowl, nil, P.yellow), task(.bowl, .sphere, P.blue, .bowl, nil, P.green),
      task(.bowl, .cylinder, P.orange, .bowl, nil, P.blue), task(.bowl, .cube, P.purple, .bowl, nil, P.red),
      task(.bowl, .sphere, P.green, .bowl, nil, P.orange),
    ]
  }()

  public static let semanticTasks: [TaskSpec] = {
    typealias P = Palette
    return [
      task(.pick, .cylinder, P.red), task(.pick, .cylinder, P.green), task(.pick, .cube, P.blue),
      task(.pick, .cube, P.orange), task(.pick, .sphere, P.red),
      task(.place, .cylinder, P.red, .plate, nil, P.yellow), task(.push, .cube, P.yellow, .marker, nil, P.purple),
      task(.stack, .cube, P.purple, .object, .cube, P.orange),
      task(.arrange, .cylinder, P.green, .object, .cube, P.blue, left: false),
      task(.bowl, .cube, P.yellow, .bowl, nil, P.purple), task(.bowl, .sphere, P.red, .bowl, nil, P.blue),
    ]
  }()

  public static let allTasks = trainTasks + semanticTasks

  /// The semantic tasks that recombine words the `trained` tasks use: each of their colours,
  /// shapes and reference kinds appears in a trained task of the same family (a policy has read
  /// every word, never the combination). The other semantic tasks name an unseen word.
  public static func semanticRecombinations(of trained: [TaskSpec]) -> [TaskSpec] {
    semanticTasks.filter { task in
      let family = trained.filter { $0.family == task.family }
      let colours = Set(family.flatMap { [$0.targetColor.name, $0.referenceColor?.name].compactMap { $0 } })
      let shapes = Set(family.flatMap { [$0.targetShape.rawValue, $0.referenceShape?.rawValue].compactMap { $0 } })
      let kinds = Set(family.compactMap { $0.referenceKind?.rawValue })
      let words = [task.targetColor.name, task.referenceColor?.name].compactMap { $0 }
      let nouns = [task.targetShape.rawValue, task.referenceShape?.rawValue].compactMap { $0 }
      return !family.isEmpty && words.allSatisfy(colours.contains) && nouns.allSatisfy(shapes.contains)
        && (task.referenceKind.map { kinds.contains($0.rawValue) } ?? true)
    }
  }

  /// Looks a task up by name; the error lists near names.
  public static func named(_ name: String) throws -> TaskSpec {
    if let task = allTasks.first(where: { $0.name == name }) { return task }
    let family = name.split(separator: "-").first.map(String.init) ?? ""
    let near = allTasks.filter { $0.name.hasPrefix(family + "-") }.prefix(5).map(\.name)
    throw SimError.unknownTask(name, suggestions: Array(near))
  }
}
