import CMuJoCo

/// A compiled MuJoCo model of one task's scene, with the ids the simulator needs resolved once.
/// Shared by every environment that runs the task (each has its own mjData).
final class TaskModel: @unchecked Sendable {
  // @unchecked: the mjModel is read-only after compilation; MuJoCo allows sharing it across
  // threads that step their own mjData.
  let task: TaskSpec
  let layout: SceneLayout
  let model: UnsafeMutablePointer<mjModel>

  let handMocap: Int          // mocap index of the gripper's target pose
  let fixtureMocap: Int?      // mocap index of the plate / bowl / marker
  let gripperBody: Int
  let fingerGeoms: (left: Int, right: Int)
  let fingerQpos: (left: Int, right: Int)
  let gripperQpos: Int        // free joint of the gripper body: 7 qpos, 6 dofs
  let gripperDof: Int
  /// Per movable slot: body id, first qpos / dof of its free joint, its geom.
  let slotBodies: [Int], slotQpos: [Int], slotDofs: [Int], slotGeoms: [Int]
  /// What colour each geom is drawn with.
  let geomRoles: [GeomRole]

  enum GeomRole: Equatable {
    case floor, table, gripper, fixture
    case slot(Int)
  }

  init(task: TaskSpec) throws {
    self.task = task
    layout = SceneBuilder.layout(for: task)
    let xml = SceneBuilder.xml(for: layout)
    var error = [CChar](repeating: 0, count: 1000)
    guard let model = cmj_load_xml_string(xml, &error, Int32(error.count)) else {
      throw SimError.physics("MuJoCo could not compile the scene of \(task.name): \(String(cBuffer: error))")
    }
    self.model = model
    let m = model.pointee

    func body(_ name: String) throws -> Int {
      let id = Int(mj_name2id(model, Int32(mjOBJ_BODY.rawValue), name))
      guard id >= 0 else { throw SimError.physics("scene of \(task.name) has no body \(name)") }
      return id
    }
    func geom(_ name: String) throws -> Int {
      let id = Int(mj_name2id(model, Int32(mjOBJ_GEOM.rawValue), name))
      guard id >= 0 else { throw SimError.physics("scene of \(task.name) has no geom \(name)") }
      return id
    }
    func joint(_ name: String) throws -> Int {
      let id = Int(mj_name2id(model, Int32(mjOBJ_JOINT.rawValue), name))
      guard id >= 0 else { throw SimError.physics("scene of \(task.name) has no joint \(name)") }
      return id
    }

    handMocap = Int(m.body_mocapid[try body("hand_target")])
    fixtureMocap = layout.fixture == nil ? nil : Int(m.body_mocapid[try body("fixture")])
    gripperBody = try body("gripper")
    fingerGeoms = (try geom("finger_left"), try geom("finger_right"))
    fingerQpos = (Int(m.jnt_qposadr[try joint("finger_left")]), Int(m.jnt_qposadr[try joint("finger_right")]))
    let gripperJoint = Int(m.body_jntadr[gripperBody])
    gripperQpos = Int(m.jnt_qposadr[gripperJoint])
    gripperDof = Int(m.jnt_dofadr[gripperJoint])

    var bodies: [Int] = [], qpos: [Int] = [], dofs: [Int] = [], geoms: [Int] = []
    for slot in layout.movables {
      let b = try body(slot.body)
      let j = Int(m.body_jntadr[b])
      bodies.append(b)
      qpos.append(Int(m.jnt_qposadr[j]))
      dofs.append(Int(m.jnt_dofadr[j]))
      geoms.append(Int(m.body_geomadr[b]))
    }
    (slotBodies, slotQpos, slotDofs, slotGeoms) = (bodies, qpos, dofs, geoms)

    let fixtureBody = layout.fixture == nil ? -1 : try body("fixture")
    let floor = try geom("floor"), table = try geom("table")
    geomRoles = (0..<Int(m.ngeom)).map { g in
      if g == floor { return .floor }
      if g == table { return .table }
      let owner = Int(m.geom_bodyid[g])
      if let slot = bodies.firstIndex(of: owner) { return .slot(slot) }
      if owner == fixtureBody { return .fixture }
      return .gripper
    }
  }

  deinit { mj_deleteModel(model) }

  var ngeom: Int { Int(model.pointee.ngeom) }
}
