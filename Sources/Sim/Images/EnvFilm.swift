/// An animated GIF of a batch's first environments: their third-person views side by side, with
/// the wrist views in a second row when the batch renders them. Call `capture()` after every step.
public struct EnvFilm {
  let env: TabletopEnv
  let count: Int
  var gif: GIFWriter
  var frame: [UInt8]

  public init(env: TabletopEnv, environments: Int, delay: Int = 6) {
    self.env = env
    count = max(1, min(environments, env.numEnvs))
    let side = env.imageSize
    gif = GIFWriter(width: count * side, height: env.wristRGB == nil ? side : 2 * side, delay: delay)
    frame = [UInt8](repeating: 0, count: gif.width * gif.height * 3)
  }

  public mutating func capture() {
    let side = env.imageSize, row = side * 3, stride = gif.width * 3
    for e in 0..<count {
      for y in 0..<side {
        let source = (e * side + y) * row, target = y * stride + e * row
        for x in 0..<row { frame[target + x] = env.rgb[source + x] }
        if let wrist = env.wristRGB {
          for x in 0..<row { frame[(side + y) * stride + e * row + x] = wrist[source + x] }
        }
      }
    }
    frame.withUnsafeBytes { gif.addFrame($0) }
  }

  public func write(to path: String) throws { try gif.write(to: path) }
}
