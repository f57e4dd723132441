/// Builds the MJCF scene of a task: table, a floating parallel-jaw gripper driven through a mocap
/// weld, the task's objects, a fixture (plate, bowl or target marker) when the task has one, and
/// distractor slots. Everything is sized in metres; the table top is the plane z = 0.
enum SceneBuilder {
  /// Movable objects: half-extents for a cube, radius and half-height for a cylinder, radius for a
  /// sphere. All rest with their centre `restHeight` above the table.
  static let cubeHalf = 0.02
  static let cylinderRadius = 0.02, cylinderHalfHeight = 0.025
  static let sphereRadius = 0.02
  static let plateRadius = 0.06, plateHalfHeight = 0.004
  static let bowlRadius = 0.065, bowlWallHalfHeight = 0.02
  static let markerHalf = 0.035
  /// Distractor slots in every scene (the vision split fills all, other splits two).
  static let distractorSlots = 4
  static let distractorShapes: [Shape] = [.cylinder, .cube, .sphere, .cube]

  /// Physics step and substeps per control step: 0.005 s x 8 = 25 Hz control.
  static let timestep = 0.005
  static let substeps = 8

  static func restHeight(_ shape: Shape) -> Double {
    switch shape {
    case .cube: cubeHalf
    case .cylinder: cylinderHalfHeight
    case .sphere: sphereRadius
    }
  }

  /// Slot names and shapes in the order of SceneLayout.
  static func layout(for task: TaskSpec) -> SceneLayout {
    var movables = [MovableSlot(body: "target", shape: task.targetShape, role: .target)]
    if task.referenceKind == .object, let shape = task.referenceShape {
      movables.append(MovableSlot(body: "reference", shape: shape, role: .reference))
    }
    for i in 0..<distractorSlots {
      movables.append(MovableSlot(body: "distractor\(i)", shape: distractorShapes[i], role: .distractor(i)))
    }
    let fixture = task.referenceKind.flatMap { $0 == .object ? nil : $0 }
    return SceneLayout(movables: movables, fixture: fixture)
  }

  static func xml(for layout: SceneLayout) -> String {
    var bodies = ""
    for slot in layout.movables {
      bodies += """
            <body name="\(slot.body)" pos="0 0 \(restHeight(slot.shape))">
              <freejoint/>
              \(geom(for: slot.shape))
            </body>

        """
    }
    if let fixture = layout.fixture { bodies += fixtureXML(fixture) }
    return """
      <mujoco model="rlinf-tabletop">
        <compiler angle="radian"/>
        <option timestep="\(timestep)" gravity="0 0 -9.81"/>
        <size nconmax="60" njmax="240" nstack="30000"/>
        <default>
          <geom friction="1 0.005 0.0001" condim="4" solref="0.005 1"/>
        </default>
        <worldbody>
          <geom name="floor" type="box" size="3 3 0.05" pos="0 0 -0.6"/>
          <geom name="table" type="box" size="0.35 0.35 0.02" pos="0 0 -0.02"/>
          <body name="hand_target" mocap="true" pos="0 0 0.2"/>
          <body name="gripper" pos="0 0 0.2">
            <freejoint/>
            <geom name="palm" type="box" size="0.015 0.056 0.01" mass="0.3"/>
            <geom name="wrist" type="cylinder" size="0.012 0.03" pos="0 0 0.04" mass="0.05"/>
            <body name="finger_left" pos="0 0.046 -0.03">
              <joint name="finger_left" type="slide" axis="0 -1 0" limited="true" range="0 0.04" damping="3"/>
              <geom name="finger_left" type="box" size="0.012 0.005 0.02" mass="0.02" friction="2 0.01 0.001"/>
            </body>
            <body name="finger_right" pos="0 -0.046 -0.03">
              <joint name="finger_right" type="slide" axis="0 1 0" limited="true" range="0 0.04" damping="3"/>
              <geom name="finger_right" type="box" size="0.012 0.005 0.02" mass="0.02" friction="2 0.01 0.001"/>
            </body>
          </body>
      \(bodies)
        </worldbody>
        <equality>
          <weld body1="hand_target" body2="gripper" solref="0.01 1"/>
        </equality>
        <actuator>
          <position joint="finger_left" kp="300" ctrllimited="true" ctrlrange="0 0.04"/>
          <position joint="finger_right" kp="300" ctrllimited="true" ctrlrange="0 0.04"/>
        </actuator>
      </mujoco>
      """
  }

  static func geom(for shape: Shape) -> String {
    switch shape {
    case .cube: "<geom type=\"box\" size=\"\(cubeHalf) \(cubeHalf) \(cubeHalf)\" mass=\"0.05\"/>"
    case .cylinder: "<geom type=\"cylinder\" size=\"\(cylinderRadius) \(cylinderHalfHeight)\" mass=\"0.05\"/>"
    case .sphere: "<geom type=\"sphere\" size=\"\(sphereRadius)\" mass=\"0.04\"/>"
    }
  }

  /// Fixtures are mocap bodies: placed per episode, immovable by contact.
  static func fixtureXML(_ kind: ReferenceKind) -> String {
    switch kind {
    case .plate:
      return """
            <body name="fixture" mocap="true" pos="0 0 0">
              <geom type="cylinder" size="\(plateRadius) \(plateHalfHeight)" pos="0 0 \(plateHalfHeight)"/>
            </body>

        """
    case .marker:
      return """
            <body name="fixture" mocap="true" pos="0 0 0">
              <geom name="marker" type="box" size="\(markerHalf) \(markerHalf) 0.0008" pos="0 0 0.0008" contype="0" conaffinity="0"/>
            </body>

        """
    case .bowl:
      var walls = ""
      for i in 0..<10 {
        let angle = Double(i) * 2 * Double.pi / 10
        let (c, s) = (cos(angle), sin(angle))
        walls += "<geom type=\"box\" size=\"0.005 0.021 \(bowlWallHalfHeight)\" pos=\"\(bowlRadius * c) \(bowlRadius * s) \(bowlWallHalfHeight)\" euler=\"0 0 \(angle)\"/>\n"
      }
      return """
            <body name="fixture" mocap="true" pos="0 0 0">
              <geom type="cylinder" size="\(bowlRadius) 0.003" pos="0 0 0.003"/>
              \(walls)
            </body>

        """
    case .object:
      return ""
    }
  }
}

/// Which colour a movable slot takes.
enum SlotRole: Equatable, Sendable {
  case target, reference
  case distractor(Int)
}

struct MovableSlot: Sendable {
  let body: String
  let shape: Shape
  let role: SlotRole
}

/// The bodies of a task scene.
struct SceneLayout: Sendable {
  /// Target first, then the reference object (stack/arrange), then the distractor slots.
  let movables: [MovableSlot]
  /// Plate, bowl or marker (a mocap body named "fixture").
  let fixture: ReferenceKind?
}

#if canImport(Glibc)
import Glibc
#endif
