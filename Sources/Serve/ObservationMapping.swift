import MessagePack

/// Which keys of a robot's observation feed which policy input. The defaults are the keys of
/// openpi's LIBERO example client.
public struct ObservationKeys: Sendable, Equatable {
  /// The third-person camera, uint8 [H, W, 3].
  public var image = "observation/image"
  /// The wrist camera, uint8 [H, W, 3]; the policy sees it instead of `image` when
  /// `useWristImage` is set (the checkpoint was trained on the wrist camera).
  public var wristImage = "observation/wrist_image"
  public var useWristImage = false
  /// The robot's state, any numeric dtype [D]; read only when the policy has proprio_dim > 0.
  public var state = "observation/state"
  /// The instruction, a string.
  public var prompt = "prompt"
  public init() {}
}

/// One observation in the policy's terms.
public struct PolicyObservation: Sendable {
  /// uint8 [S, S, 3] at the policy's image size, row-major.
  public var image: [UInt8]
  public var state: [Float]?
  public var prompt: String
}

/// A request the server refuses, with the reason it sends back as a text frame.
public struct BadRequest: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}

extension ObservationKeys {
  /// Reads an observation map; errors name the key and what was wrong, never the values.
  public func observation(_ value: MessagePackValue, imageSize: Int, stateDim: Int) throws -> PolicyObservation {
    guard case .map = value else { throw BadRequest("the observation must be a map of keys to values, got \(value.kind)") }
    let key = useWristImage ? wristImage : image
    guard let imageValue = value[key] else { throw BadRequest("missing key \"\(key)\" (the camera image, uint8 [H, W, 3])") }
    let array: NumpyArray
    do {
      guard let a = try NumpyArray(imageValue) else { throw BadRequest("\"\(key)\" must be a numpy array, got \(imageValue.kind)") }
      array = a
    } catch let error as NumpyArray.Invalid {
      throw BadRequest("\"\(key)\": \(error.description)")
    }
    guard array.dtype == "|u1", array.shape.count == 3, array.shape[2] == 3, array.shape[0] > 0, array.shape[1] > 0 else {
      throw BadRequest("\"\(key)\" must be uint8 [H, W, 3], got \(array.dtype) \(array.shape)")
    }
    let resized = try Self.resize(array.data, height: array.shape[0], width: array.shape[1], to: imageSize)

    var state: [Float]? = nil
    if stateDim > 0 {
      guard let stateValue = value[self.state] else { throw BadRequest("missing key \"\(self.state)\" (the robot state, [\(stateDim)])") }
      guard let a = try? NumpyArray(stateValue), a.shape.reduce(1, *) == stateDim, a.shape.count <= 2, a.dtype.dropFirst().first != "b" else {
        throw BadRequest("\"\(self.state)\" must be a numeric numpy array of \(stateDim) values")
      }
      state = a.doubles().map(Float.init)
    }
    guard let promptValue = value[prompt] else { throw BadRequest("missing key \"\(prompt)\" (the instruction)") }
    guard case .string(let text) = promptValue else { throw BadRequest("\"\(prompt)\" must be a string, got \(promptValue.kind)") }
    return PolicyObservation(image: resized, state: state, prompt: text)
  }

  /// An [H, W, 3] image at size x size: box-averaged (rounded) when the size divides both
  /// sides, as a camera image is usually an integer multiple of the policy's; otherwise
  /// refused, since any other filter would give the policy images it never trained on.
  static func resize(_ pixels: [UInt8], height: Int, width: Int, to size: Int) throws -> [UInt8] {
    if height == size && width == size { return pixels }
    guard height % size == 0, width % size == 0 else {
      throw BadRequest("images of \(height)x\(width) cannot be fed to a policy of \(size)x\(size): send a multiple of \(size) on each side")
    }
    let fy = height / size, fx = width / size, area = fy * fx
    var out = [UInt8](repeating: 0, count: size * size * 3)
    for y in 0..<size {
      for x in 0..<size {
        for c in 0..<3 {
          var sum = 0
          for dy in 0..<fy {
            let row = (y * fy + dy) * width
            for dx in 0..<fx { sum += Int(pixels[(row + x * fx + dx) * 3 + c]) }
          }
          out[(y * size + x) * 3 + c] = UInt8((sum + area / 2) / area)  // round half up
        }
      }
    }
    return out
  }
}
