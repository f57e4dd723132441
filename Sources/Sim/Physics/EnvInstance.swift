import CMuJoCo
import CRender

#if canImport(Glibc)
import Glibc
#endif

/// One environment: its MuJoCo data, the gripper command state and the episode bookkeeping.
/// All its randomness comes from the episode seed.
final class EnvInstance: @unchecked Sendable {
  // @unchecked: each instance is stepped by exactly one worker at a time.
  let taskModel: TaskModel
  let data: UnsafeMutablePointer<mjData>
  let split: Split
  /// The shaped reward's potential includes the reach and alignment terms.
  let reachReward: Bool
  /// Overrides the split's distractor palette (TabletopConfig.distractorColors).
  let distractorColors: [NamedColor]?
  /// Train-split episodes vary table, light and camera mildly (TabletopConfig.randomizeAppearance).
  let randomizeAppearance: Bool
  /// Train-split episodes place 2 to this many distractors (TabletopConfig.maxDistractors).
  let maxDistractors: Int
  /// Train-split episodes start the hand up to this far off centre (TabletopConfig.startSpread).
  let startSpread: Double
  static let trainStartSpread = 0.04

  // Gripper command: the mocap target pose (position and roll/pitch/yaw) and the jaw command.
  var handPosition = SIMD3<Double>(0, 0, 0.2)
  var handEuler = SIMD3<Double>(0, 0, 0)
  var gripperClosed = false

  // Episode.
  var seed: UInt64 = 0
  var step = 0
  var successOnce = false
  var variation: EpisodeVariation
  var potential = 0.0
  var graspStreak = 0
  var initialGoalDistance = 1.0
  /// What happened to the target so far this episode (for failure classification).
  var trace = EpisodeTrace()

  /// Action scaling: a = +-1 moves the hand target 2 cm, turns it 0.1 rad.
  static let positionScale = 0.02
  static let rotationScale = 0.1
  static let workspaceLow = SIMD3<Double>(-0.3, -0.3, 0.01)
  static let workspaceHigh = SIMD3<Double>(0.3, 0.3, 0.35)
  static let fingerClosed = 0.04
  /// The wrist camera's field of view in degrees. At 75 degrees the target lay outside the first
  /// frame in 17 of 102 pick episodes (the objects spread wider than the view from the starting
  /// height) and the policy then went for an object it could see; at 90 in 2.
  static let wristFieldOfView: Float = 90

  init(
    taskModel: TaskModel, split: Split, reachReward: Bool = false, distractorColors: [NamedColor]? = nil,
    randomizeAppearance: Bool = false, maxDistractors: Int = 2, startSpread: Double = EnvInstance.trainStartSpread
  ) throws {
    self.taskModel = taskModel
    self.split = split
    self.reachReward = reachReward
    self.distractorColors = distractorColors
    self.randomizeAppearance = randomizeAppearance
    self.maxDistractors = maxDistractors
    self.startSpread = startSpread
    guard let data = mj_makeData(taskModel.model) else {
      throw SimError.physics("MuJoCo could not allocate data for \(taskModel.task.name)")
    }
    self.data = data
    variation = EpisodeVariation(
      slotColors: [], fixtureColor: .zero, tableColor: Palette.table, activeDistractors: 0,
      lightDirection: SIMD3(0, 0, 1), lightColor: SIMD3(1, 1, 1), ambient: 0.4, cameraJitter: .zero,
      moveTargetAtStep: nil)
  }

  deinit { mj_deleteData(data) }

  var task: TaskSpec { taskModel.task }
  var m: UnsafeMutablePointer<mjModel> { taskModel.model }

  // MARK: reset

  /// Starts a new episode whose layout, colours and lighting all follow from `seed`.
  func reset(seed: UInt64) {
    self.seed = seed
    var rng = SplitMix(seed: seed)
    mj_resetData(m, data)
    variation = sampleVariation(&rng)

    let wide = split == .execution
    let region = wide ? (x: 0.2, y: 0.16) : (x: 0.12, y: 0.10)
    var placed: [(SIMD2<Double>, Double)] = []  // centre, radius
    func freeSpot(radius: Double) -> SIMD2<Double> {
      for _ in 0..<200 {
        let p = SIMD2(rng.uniform(-region.x...region.x), rng.uniform(-region.y...region.y))
        if placed.allSatisfy({ simdLength($0.0 - p) > $0.1 + radius + 0.02 }) {
          placed.append((p, radius))
          return p
        }
      }
      let p = SIMD2(rng.uniform(-region.x...region.x), rng.uniform(-region.y...region.y))
      placed.append((p, radius))
      return p
    }

    if let mocap = taskModel.fixtureMocap, let kind = taskModel.layout.fixture {
      let radius = kind == .marker ? SceneBuilder.markerHalf * 1.4 : SceneBuilder.bowlRadius
      let p = freeSpot(radius: radius)
      setMocap(mocap, position: SIMD3(p.x, p.y, 0), yaw: 0)
    }
    for (slot, movable) in taskModel.layout.movables.enumerated() {
      if case .distractor(let i) = movable.role, i >= variation.activeDistractors {
        park(slot: slot, index: i)
        continue
      }
      let p = freeSpot(radius: 0.03)
      let yaw = movable.shape == .cube ? rng.uniform(-0.6...0.6) : 0
      setSlotPose(slot, position: SIMD3(p.x, p.y, SceneBuilder.restHeight(movable.shape)), yaw: yaw)
    }

    var start = wide
      ? SIMD3(rng.uniform(-0.12...0.12), rng.uniform(-0.12...0.12), rng.uniform(0.14...0.24))
      : SIMD3(rng.uniform(-0.04...0.04), rng.uniform(-0.04...0.04), rng.uniform(0.16...0.20))
    if startSpread != Self.trainStartSpread && split == .inDistribution {
      // From a stream of its own: the rest of the episode stays the seed's.
      var rng = SplitMix(seed: SplitMix.mix(seed, 0x5354_4152))
      start.x = rng.uniform(-startSpread...startSpread)
      start.y = rng.uniform(-startSpread...startSpread)
    }
    handPosition = start
    handEuler = .zero
    gripperClosed = false
    let q = taskModel.gripperQpos
    data.pointee.qpos[q] = start.x
    data.pointee.qpos[q + 1] = start.y
    data.pointee.qpos[q + 2] = start.z
    data.pointee.qpos[q + 3] = 1
    for i in 4..<7 { data.pointee.qpos[q + i] = 0 }
    applyCommand()
    mj_forward(m, data)

    step = 0
    successOnce = false
    graspStreak = 0
    trace = EpisodeTrace()
    let target = SIMD3<Float>(slotPosition(0))
    trace.targetInWristViewAtStart = wristView(aspect: 1).sees(target)
    trace.targetInThirdPersonViewAtStart = thirdPersonView(aspect: 1).sees(target)
    initialGoalDistance = max(goalDistance(), 0.02)
    potential = shapedPotential(grasped: false, reach: reachReward)
  }

  private func sampleVariation(_ rng: inout SplitMix) -> EpisodeVariation {
    let taskColors: Set<String> = [task.targetColor.name, task.referenceColor?.name].compactMap { $0 }.reduce(into: []) { $0.insert($1) }
    let vision = split == .vision
    let chosen = distractorColors?.filter { !taskColors.contains($0.name) } ?? []
    let distractorPalette = chosen.isEmpty ? (vision ? Palette.all : Palette.seen).filter { !taskColors.contains($0.name) } : chosen
    var slotColors: [SIMD3<Float>] = []
    for movable in taskModel.layout.movables {
      switch movable.role {
      case .target: slotColors.append(task.targetColor.rgb)
      case .reference: slotColors.append(task.referenceColor!.rgb)
      case .distractor: slotColors.append(distractorPalette.randomElement(using: &rng)!.rgb)
      }
    }
    var light = SIMD3<Float>(-0.35, -0.45, 1.0)
    var lightColor = SIMD3<Float>(1, 1, 1)
    var ambient: Float = 0.4
    var table = Palette.table
    if vision {
      light = SIMD3(Float(rng.uniform(-0.9...0.9)), Float(rng.uniform(-0.9...0.3)), 1.0)
      let intensity = Float(rng.uniform(0.7...1.2))
      lightColor = SIMD3(intensity, intensity * Float(rng.uniform(0.85...1.0)), intensity * Float(rng.uniform(0.8...1.0)))
      ambient = Float(rng.uniform(0.25...0.55))
      table = Palette.tablesUnseen.randomElement(using: &rng)!
    }
    var jitter = split == .execution || vision
      ? SIMD3<Float>(Float(rng.uniform(-0.03...0.03)), Float(rng.uniform(-0.03...0.03)), Float(rng.uniform(-0.03...0.03)))
      : .zero
    // From a stream of its own: the layout and colours stay the seed's, with or without it.
    if randomizeAppearance && split == .inDistribution {
      var rng = SplitMix(seed: SplitMix.mix(seed, 0x4150_5045))
      light = SIMD3(Float(rng.uniform(-0.65 ... -0.05)), Float(rng.uniform(-0.7 ... -0.2)), 1.0)
      let intensity = Float(rng.uniform(0.85...1.1))
      lightColor = SIMD3(intensity, intensity * Float(rng.uniform(0.93...1.0)), intensity * Float(rng.uniform(0.92...1.0)))
      ambient = Float(rng.uniform(0.33...0.47))
      table = Palette.tablesSeen.randomElement(using: &rng)!
      jitter = SIMD3(Float(rng.uniform(-0.01...0.01)), Float(rng.uniform(-0.01...0.01)), Float(rng.uniform(-0.01...0.01)))
    }
    var distractors = vision ? SceneBuilder.distractorSlots : 2
    // A stream of its own too: the appearance stays the seed's, and so do the places of the
    // objects drawn before the extra distractors (the hand's start follows their draws).
    if maxDistractors > 2 && split == .inDistribution {
      var rng = SplitMix(seed: SplitMix.mix(seed, 0x434C_5554))
      distractors = Int.random(in: 2...maxDistractors, using: &rng)
    }
    return EpisodeVariation(
      slotColors: slotColors, fixtureColor: task.referenceColor?.rgb ?? .zero, tableColor: table,
      activeDistractors: distractors,
      lightDirection: light / simdLength(light), lightColor: lightColor, ambient: ambient, cameraJitter: jitter,
      moveTargetAtStep: split == .execution ? Int(rng.uniform(8...20)) : nil)
  }

  private func park(slot: Int, index: Int) {
    // Parked distractors rest on the floor far outside the camera's view.
    let shape = taskModel.layout.movables[slot].shape
    setSlotPose(slot, position: SIMD3(1.5 + 0.2 * Double(index), 1.5, -0.55 + SceneBuilder.restHeight(shape)), yaw: 0)
  }

  func setSlotPose(_ slot: Int, position: SIMD3<Double>, yaw: Double) {
    let q = taskModel.slotQpos[slot]
    data.pointee.qpos[q] = position.x
    data.pointee.qpos[q + 1] = position.y
    data.pointee.qpos[q + 2] = position.z
    data.pointee.qpos[q + 3] = cos(yaw / 2)
    data.pointee.qpos[q + 4] = 0
    data.pointee.qpos[q + 5] = 0
    data.pointee.qpos[q + 6] = sin(yaw / 2)
    let v = taskModel.slotDofs[slot]
    for i in 0..<6 { data.pointee.qvel[v + i] = 0 }
  }

  private func setMocap(_ index: Int, position: SIMD3<Double>, yaw: Double) {
    data.pointee.mocap_pos[3 * index] = position.x
    data.pointee.mocap_pos[3 * index + 1] = position.y
    data.pointee.mocap_pos[3 * index + 2] = position.z
    data.pointee.mocap_quat[4 * index] = cos(yaw / 2)
    data.pointee.mocap_quat[4 * index + 1] = 0
    data.pointee.mocap_quat[4 * index + 2] = 0
    data.pointee.mocap_quat[4 * index + 3] = sin(yaw / 2)
  }

  // MARK: stepping

  /// Applies one normalised 7-D action (validated by the caller) and advances the physics one
  /// control step. Returns false when the physics diverged (NaN state or MuJoCo error).
  func advance(action: UnsafePointer<Float>) -> Bool {
    for i in 0..<3 {
      handPosition[i] += Double(action[i]) * Self.positionScale
      handEuler[i] += Double(action[3 + i]) * Self.rotationScale
    }
    handPosition = simd_clamp(handPosition, Self.workspaceLow, Self.workspaceHigh)
    handEuler.x = min(max(handEuler.x, -0.6), 0.6)
    handEuler.y = min(max(handEuler.y, -0.6), 0.6)
    handEuler.z = min(max(handEuler.z, -Double.pi), Double.pi)
    gripperClosed = action[6] > 0
    applyCommand()
    if variation.moveTargetAtStep == step { moveTargetMidEpisode() }
    guard cmj_step(m, data, Int32(SceneBuilder.substeps)) == 0 else { return false }
    step += 1
    return isFinite()
  }

  private func applyCommand() {
    let (r, p, y) = (handEuler.x, handEuler.y, handEuler.z)
    // Quaternion of R = Rz(yaw) Ry(pitch) Rx(roll).
    let (cr, sr, cp, sp, cy, sy) = (cos(r / 2), sin(r / 2), cos(p / 2), sin(p / 2), cos(y / 2), sin(y / 2))
    let h = taskModel.handMocap
    data.pointee.mocap_pos[3 * h] = handPosition.x
    data.pointee.mocap_pos[3 * h + 1] = handPosition.y
    data.pointee.mocap_pos[3 * h + 2] = handPosition.z
    data.pointee.mocap_quat[4 * h] = cr * cp * cy + sr * sp * sy
    data.pointee.mocap_quat[4 * h + 1] = sr * cp * cy - cr * sp * sy
    data.pointee.mocap_quat[4 * h + 2] = cr * sp * cy + sr * cp * sy
    data.pointee.mocap_quat[4 * h + 3] = cr * cp * sy - sr * sp * cy
    let jaw = gripperClosed ? Self.fingerClosed : 0
    data.pointee.ctrl[0] = jaw
    data.pointee.ctrl[1] = jaw
  }

  /// Execution split: the target object jumps to a new spot once, mid-episode.
  private func moveTargetMidEpisode() {
    var rng = SplitMix(seed: SplitMix.mix(seed, 0x6D6F7665))
    let p = SIMD2(rng.uniform(-0.15...0.15), rng.uniform(-0.12...0.12))
    let current = slotPosition(0)
    guard current.z < SceneBuilder.restHeight(task.targetShape) + 0.01 else { return }  // not while held
    setSlotPose(0, position: SIMD3(p.x, p.y, current.z), yaw: 0)
  }

  private func isFinite() -> Bool {
    let d = data.pointee
    for i in 0..<Int(m.pointee.nq) where !d.qpos[i].isFinite { return false }
    for i in 0..<Int(m.pointee.nv) where !d.qvel[i].isFinite { return false }
    return cmj_unstable(data) == 0
  }

  // MARK: state queries

  func slotPosition(_ slot: Int) -> SIMD3<Double> {
    let b = taskModel.slotBodies[slot]
    return SIMD3(data.pointee.xpos[3 * b], data.pointee.xpos[3 * b + 1], data.pointee.xpos[3 * b + 2])
  }

  func slotYaw(_ slot: Int) -> Double {
    let b = taskModel.slotBodies[slot]
    let xmat = data.pointee.xmat + 9 * b
    return atan2(xmat[3], xmat[0])
  }

  var fixturePosition: SIMD3<Double>? {
    guard let f = taskModel.fixtureMocap else { return nil }
    return SIMD3(data.pointee.mocap_pos[3 * f], data.pointee.mocap_pos[3 * f + 1], data.pointee.mocap_pos[3 * f + 2])
  }

  /// Position of the gripper body (the palm centre), as simulated.
  var gripperPosition: SIMD3<Double> {
    let b = taskModel.gripperBody
    return SIMD3(data.pointee.xpos[3 * b], data.pointee.xpos[3 * b + 1], data.pointee.xpos[3 * b + 2])
  }

  /// Opening of the jaw: 0 fully open ... 1 fully closed.
  var jawClosure: Double {
    let (l, r) = taskModel.fingerQpos
    return (data.pointee.qpos[l] + data.pointee.qpos[r]) / (2 * Self.fingerClosed)
  }

  /// Both fingers touch the given slot's object.
  func isGrasped(slot: Int = 0) -> Bool {
    let target = Int32(taskModel.slotGeoms[slot])
    let (left, right) = (Int32(taskModel.fingerGeoms.left), Int32(taskModel.fingerGeoms.right))
    var touchLeft = false, touchRight = false
    for i in 0..<Int(data.pointee.ncon) {
      let c = data.pointee.contact[i]
      if (c.geom1 == target && c.geom2 == left) || (c.geom2 == target && c.geom1 == left) { touchLeft = true }
      if (c.geom1 == target && c.geom2 == right) || (c.geom2 == target && c.geom1 == right) { touchRight = true }
    }
    return touchLeft && touchRight
  }

  /// "colour shape" of movable slot `slot` in this episode, e.g. "green cube".
  func objectDescription(_ slot: Int) -> String {
    let rgb = variation.slotColors[slot]
    return "\(Palette.all.first { $0.rgb == rgb }?.name ?? "unnamed") \(taskModel.layout.movables[slot].shape.rawValue)"
  }

  /// Slots each finger touches in the current contacts (bit i = movable slot i).
  func fingerContacts() -> (left: UInt32, right: UInt32) {
    let (left, right) = (Int32(taskModel.fingerGeoms.left), Int32(taskModel.fingerGeoms.right))
    var touches: (left: UInt32, right: UInt32) = (0, 0)
    for i in 0..<Int(data.pointee.ncon) {
      let c = data.pointee.contact[i]
      for (finger, other) in [(c.geom1, c.geom2), (c.geom2, c.geom1)] where finger == left || finger == right {
        guard case .slot(let s) = taskModel.geomRoles[Int(other)] else { continue }
        if finger == left { touches.left |= 1 << s } else { touches.right |= 1 << s }
      }
    }
    return touches
  }

  /// Updates the episode trace after a step; `wasHolding`: the grasp streak before it was
  /// updated for this step.
  func recordTrace(wasHolding streak: Int) {
    let touches = fingerContacts()
    let held = touches.left & touches.right
    let holdingTarget = held & 1 != 0
    trace.touchedTarget = trace.touchedTarget || (touches.left | touches.right) & 1 != 0
    trace.graspedTarget = trace.graspedTarget || holdingTarget
    trace.graspedOther = trace.graspedOther || held & ~1 != 0
    trace.graspedOtherSlots |= held & ~1
    if streak >= 2 && !holdingTarget && !successOnce { trace.droppedTarget = true }
    trace.holdingAtEnd = holdingTarget
  }

  /// Proprioceptive state, 8 floats: hand target position (3), roll/pitch/yaw (3), jaw closure,
  /// jaw command (+1 closed, -1 open).
  func writeState(_ out: UnsafeMutablePointer<Float>) {
    for i in 0..<3 {
      out[i] = Float(handPosition[i])
      out[3 + i] = Float(handEuler[i])
    }
    out[6] = Float(jawClosure)
    out[7] = gripperClosed ? 1 : -1
  }
}

@inline(__always) func simdLength(_ v: SIMD2<Double>) -> Double { (v * v).sum().squareRoot() }
@inline(__always) func simdLength(_ v: SIMD3<Double>) -> Double { (v * v).sum().squareRoot() }
@inline(__always) func simdLength(_ v: SIMD3<Float>) -> Float { (v * v).sum().squareRoot() }
@inline(__always) func simd_clamp(_ v: SIMD3<Double>, _ lo: SIMD3<Double>, _ hi: SIMD3<Double>) -> SIMD3<Double> {
  v.replacing(with: lo, where: v .< lo).replacing(with: hi, where: v .> hi)
}
