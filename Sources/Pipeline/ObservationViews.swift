import Sim
import Torch

/// Tensors viewing an environment's observation buffers in place (no copies): the camera the
/// policy sees ([N, H, W, 3] uint8) and the state ([N, 8] float32). With `final`, the buffers of
/// the true last observations of episodes that just ended (auto-reset). The env must outlive them.
struct ObservationViews {
  let images: Tensor
  let state: Tensor

  init(env: any BatchedEnvironment, wrist: Bool, final: Bool = false) throws {
    let n = env.numEnvs, side = env.imageSize
    let pixels = switch (wrist, final) {
    case (false, false): env.rgb
    case (true, false): env.wristRGB!
    case (false, true): env.finalRGB
    case (true, true): env.finalWristRGB!
    }
    images = try Tensor(borrowing: pixels.baseAddress!, shape: [n, side, side, 3], dtype: .uint8) {}
    state = try Tensor(borrowing: (final ? env.finalState : env.state).baseAddress!, shape: [n, env.stateSize], dtype: .float32) {}
  }
}
