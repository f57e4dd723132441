import Foundation
import Testing
import TestSupport

@testable import Sim

@Suite struct OutputFileTests {
  static let script = repositoryRoot + "/Tests/SimTests/Reference/sim_reference.py"

  struct Decoded: Decodable { let width: Int; let height: Int; let frames: Int }

  func decode(_ path: String, frame: Int, dir: String) throws -> (Decoded, [UInt8]) {
    let raw = dir + "/decoded.raw"
    let info = try JSONDecoder().decode(Decoded.self, from: Data(runPython(Self.script, ["decode", path, String(frame), raw]).utf8))
    return (info, [UInt8](try Data(contentsOf: URL(fileURLWithPath: raw))))
  }

  /// Pillow decodes our PNG to exactly the rendered pixels, and our GIF to the palette colours.
  @Test func pngAndGIFDecodeWithPillow() throws {
    let dir = try temporaryDirectory("sim-images")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let env = try makeEnv(["stack-red-cube-blue-cube"], size: 96)
    let pixels = Array(env.rgb)
    try pixels.withUnsafeBytes { try PNGWriter.write(width: 96, height: 96, pixels: $0, to: dir + "/a.png") }
    let (pngInfo, png) = try decode(dir + "/a.png", frame: 0, dir: dir)
    #expect(pngInfo.width == 96 && pngInfo.height == 96)
    #expect(png == pixels)

    var gif = GIFWriter(width: 96, height: 96)
    pixels.withUnsafeBytes { gif.addFrame($0) }
    try env.step([Float](repeating: 0.5, count: 7))
    let second = Array(env.rgb)
    second.withUnsafeBytes { gif.addFrame($0) }
    try gif.write(to: dir + "/a.gif")
    let (gifInfo, frame1) = try decode(dir + "/a.gif", frame: 1, dir: dir)
    #expect(gifInfo.frames == 2)
    // The palette is a 6 x 7 x 6 colour cube: red and blue in steps of 51, green in steps of
    // 255 / 6 (rounded down); each channel goes to its nearest level (no value lies halfway).
    let expected = second.enumerated().map { i, v -> UInt8 in
      let steps = i % 3 == 1 ? 6 : 5
      let level = Int((Double(v) * Double(steps) / 255).rounded())
      return UInt8(level * 255 / steps)
    }
    #expect(frame1 == expected)
    #expect(Set(expected).count > 4, "the frame has colours to quantise")
  }

  /// Demonstrations: a safetensors file the Python package reads, with the documented layout.
  @Test func demonstrationDataset() throws {
    let dir = try temporaryDirectory("sim-demos")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let dataset = try DemoRecorder.record(
      tasks: ["pick-red-cube", "place-red-cube-blue-plate"], episodesPerTask: 2, wristCamera: true, threads: 2)
    #expect(dataset.episodes == 4 && dataset.attempted == 4)
    let path = dir + "/d.demos.safetensors"
    try dataset.write(to: path)
    struct Entry: Decodable { let dtype: String; let shape: [Int] }
    struct Checks: Decodable {
      let action_min: Double, action_max: Double, rgb_mean: Double
      let episodes_contiguous: Bool, steps_restart_with_episodes: Bool
      let distinct_episodes: Int
    }
    let json = Data(try runPython(Self.script, ["dataset", path]).utf8)
    let object = try JSONSerialization.jsonObject(with: json) as! [String: Any]
    let t = dataset.steps
    func entry(_ name: String) throws -> Entry {
      try JSONDecoder().decode(Entry.self, from: JSONSerialization.data(withJSONObject: object[name]!))
    }
    #expect(try entry("rgb").shape == [t, 64, 64, 3] && entry("rgb").dtype == "uint8")
    #expect(try entry("wrist_rgb").shape == [t, 64, 64, 3])
    #expect(try entry("state").shape == [t, 8] && entry("state").dtype == "float32")
    #expect(try entry("action").shape == [t, 7])
    #expect(try entry("episode_index").dtype == "int32" && entry("task_index").shape == [t])
    let checks = try JSONDecoder().decode(Checks.self, from: JSONSerialization.data(withJSONObject: object["checks"]!))
    #expect(checks.action_min >= -1 && checks.action_max <= 1)
    #expect(checks.episodes_contiguous && checks.steps_restart_with_episodes && checks.distinct_episodes == 4)
    #expect(checks.rgb_mean > 20)
    let metadata = object["metadata"] as! [String: String]
    #expect(metadata["format"] == DemoDataset.format && metadata["episodes"] == "4")
    #expect(metadata["tasks"]!.contains("put the red cube on the blue plate"))
  }
}
