import CMuJoCo
import CRender

/// Turns an environment's MuJoCo state into ray-caster primitives and its cameras into views.
extension EnvInstance {
  /// Writes this environment's primitives (at most `capacity`) and returns how many.
  func writePrimitives(_ out: UnsafeMutablePointer<RcPrimitive>, capacity: Int) -> Int {
    let model = m.pointee
    let d = data.pointee
    var count = 0
    for g in 0..<taskModel.ngeom where count < capacity {
      let role = taskModel.geomRoles[g]
      var color: SIMD3<Float>
      switch role {
      case .floor: color = Palette.floor
      case .table: color = variation.tableColor
      case .gripper: color = Palette.gripper
      case .fixture: color = variation.fixtureColor
      case .slot(let s):
        if case .distractor(let i) = taskModel.layout.movables[s].role, i >= variation.activeDistractors { continue }
        color = variation.slotColors[s]
      }
      let type: Float, bound: Float
      var size = SIMD3<Float>(Float(model.geom_size[3 * g]), Float(model.geom_size[3 * g + 1]), Float(model.geom_size[3 * g + 2]))
      switch Int(model.geom_type[g]) {
      case Int(mjGEOM_BOX.rawValue):
        type = Float(RC_BOX)
        bound = simdLength(size)
      case Int(mjGEOM_SPHERE.rawValue):
        type = Float(RC_SPHERE)
        bound = size.x
      case Int(mjGEOM_CYLINDER.rawValue):
        type = Float(RC_CYLINDER)
        size.z = 0
        bound = simdLength(size)
      default: continue
      }
      let x = d.geom_xpos + 3 * g, r = d.geom_xmat + 9 * g  // r: row-major world-from-local
      // Only objects above the table cast shadows (the marker lies flat on it).
      let flat = role == .floor || role == .table || (taskModel.task.referenceKind == .marker && role == .fixture)
      let noShadow: Float = flat ? 1 : 0
      out[count] = RcPrimitive(
        pos_type: vec4(x: Float(x[0]), y: Float(x[1]), z: Float(x[2]), w: type),
        axis0: vec4(x: Float(r[0]), y: Float(r[3]), z: Float(r[6]), w: 0),
        axis1: vec4(x: Float(r[1]), y: Float(r[4]), z: Float(r[7]), w: 0),
        axis2: vec4(x: Float(r[2]), y: Float(r[5]), z: Float(r[8]), w: 0),
        size: vec4(x: size.x, y: size.y, z: size.z, w: bound * 1.001),
        color: vec4(x: color.x, y: color.y, z: color.z, w: noShadow))
      count += 1
    }
    return count
  }

  /// The third-person camera: in front of the table (at -y), looking at its centre.
  func thirdPersonView(aspect: Float) -> RcView {
    let eye = SIMD3<Float>(0, -0.30, 0.30) + variation.cameraJitter
    return view(eye: eye, lookAt: SIMD3(0, 0.0, 0.02), up: SIMD3(0, 0, 1), fovDegrees: 42, aspect: aspect)
  }

  /// The wrist camera: just under the palm, looking down along the jaw, turning with the hand.
  func wristView(aspect: Float) -> RcView {
    let g = taskModel.gripperBody
    let x = data.pointee.xpos + 3 * g, r = data.pointee.xmat + 9 * g
    let down = SIMD3<Float>(-Float(r[2]), -Float(r[5]), -Float(r[8]))
    let along = SIMD3<Float>(Float(r[0]), Float(r[3]), Float(r[6]))
    let eye = SIMD3<Float>(Float(x[0]), Float(x[1]), Float(x[2])) + down * 0.012
    return view(eye: eye, lookAt: eye + down, up: along, fovDegrees: EnvInstance.wristFieldOfView, aspect: aspect)
  }

  private func view(eye: SIMD3<Float>, lookAt: SIMD3<Float>, up: SIMD3<Float>, fovDegrees: Float, aspect: Float) -> RcView {
    let forward = normalize(lookAt - eye)
    let right = normalize(cross(forward, up))
    let trueUp = cross(right, forward)
    let tanHalf = Float(tan(Double(fovDegrees) * .pi / 360))
    let light = variation.lightDirection, lc = variation.lightColor
    return RcView(
      eye: vec4(x: eye.x, y: eye.y, z: eye.z, w: aspect),
      forward: vec4(x: forward.x, y: forward.y, z: forward.z, w: 0),
      right: vec4(x: right.x, y: right.y, z: right.z, w: 0),
      up_tan: vec4(x: trueUp.x, y: trueUp.y, z: trueUp.z, w: tanHalf),
      light: vec4(x: light.x, y: light.y, z: light.z, w: variation.ambient),
      light_color: vec4(x: lc.x, y: lc.y, z: lc.z, w: 0))
  }
}

extension RcView {
  /// Whether a world point projects inside this camera's image.
  func sees(_ p: SIMD3<Float>) -> Bool {
    let v = p - SIMD3(eye.x, eye.y, eye.z)
    let depth = dot(v, SIMD3(forward.x, forward.y, forward.z))
    guard depth > 0 else { return false }
    let x = dot(v, SIMD3(right.x, right.y, right.z)) / depth, y = dot(v, SIMD3(up_tan.x, up_tan.y, up_tan.z)) / depth
    return Swift.abs(x) <= up_tan.w * eye.w && Swift.abs(y) <= up_tan.w
  }
}

private func dot(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> Float { (a * b).sum() }
private func normalize(_ v: SIMD3<Float>) -> SIMD3<Float> { v / simdLength(v) }
private func cross(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> SIMD3<Float> {
  SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}

#if canImport(Glibc)
import Glibc
#endif
