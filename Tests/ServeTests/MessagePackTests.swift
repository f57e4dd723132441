import Foundation
import MessagePack
import Serve
import TestSupport
import Testing

/// Our MessagePack codec against the `msgpack` package and openpi-client's msgpack_numpy.
@Suite struct MessagePackTests {
  let script = repositoryRoot + "/Tests/ServeTests/Reference/msgpack_reference.py"

  func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
  func bytes(_ hex: String) -> [UInt8] {
    var out: [UInt8] = [], chars = Array(hex.utf8)[...]
    while chars.count >= 2 {
      out.append(UInt8(String(decoding: chars.prefix(2), as: UTF8.self), radix: 16)!)
      chars = chars.dropFirst(2)
    }
    return out
  }

  /// Every message msgpack packs, we decode; what we encode from it, msgpack unpacks to the
  /// same value, as short as its own encoding.
  @Test func roundTripsMsgpacksOwnMessages() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("msgpack-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try runPython(script, ["make", folder + "/theirs.json"])
    let theirs = try JSONDecoder().decode([String].self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/theirs.json")))
    let values = try theirs.map { try MessagePackReader.decode(bytes($0)) }
    try JSONEncoder().encode(values.map { hex(MessagePackWriter.encode($0)) }).write(to: URL(fileURLWithPath: folder + "/ours.json"))
    #expect(try runPython(script, ["check", folder + "/ours.json"]).hasPrefix("ok \(theirs.count)"))

    // Spot checks of what the decoded values are.
    #expect(values[0] == .null && values[1] == .bool(true))
    #expect(values.contains(.int(-Int64.max - 1)) && values.contains(.uint(UInt64.max)))
    let observation = try #require(values.last)
    #expect(observation["prompt"] == .string("pick up the red cube"))
    let imageValue = try #require(observation["observation/image"])
    let image = try #require(try NumpyArray(imageValue))
    #expect(image.dtype == "|u1" && image.shape == [8, 8, 3] && image.data.count == 192)
    let stateValue = try #require(observation["observation/state"])
    let state = try #require(try NumpyArray(stateValue))
    #expect(state.dtype == "<f8" && state.shape == [8] && state.doubles().allSatisfy(\.isFinite))
  }

  @Test func knownEncodings() {
    // From the msgpack spec.
    #expect(MessagePackWriter.encode(.uint(5)) == [0x05])
    #expect(MessagePackWriter.encode(.int(-5)) == [0xfb])
    #expect(MessagePackWriter.encode(.uint(300)) == [0xcd, 0x01, 0x2c])
    #expect(MessagePackWriter.encode(.string("hi")) == [0xa2, 0x68, 0x69])
    #expect(MessagePackWriter.encode(.float(1.0)) == [0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0])
    #expect(MessagePackWriter.encode(.array([.null, .bool(false)])) == [0x92, 0xc0, 0xc2])
    #expect(MessagePackWriter.encode(.binary([1, 2])) == [0xc4, 0x02, 0x01, 0x02])
  }

  /// Hostile bytes are errors, never crashes or huge allocations.
  @Test(arguments: [
    ("empty", [UInt8]()),
    ("truncated string", [0xa5, 0x61]),
    ("array claiming 4 billion items", [0xdd, 0xff, 0xff, 0xff, 0xff]),
    ("map claiming 65535 entries", [0xde, 0xff, 0xff, 0x01]),
    ("binary claiming 4 GiB", [0xc6, 0xff, 0xff, 0xff, 0xff, 0x00]),
    ("unused type byte", [0xc1]),
    ("trailing bytes", [0x01, 0x02]),
    ("invalid UTF-8 string", [0xa2, 0xff, 0xfe]),
    ("repeated map key", [0x82, 0xa1, 0x61, 0x01, 0xa1, 0x61, 0x02]),
    ("nested 1000 levels", [UInt8](repeating: 0x91, count: 1000) + [0x00]),
  ] as [(String, [UInt8])])
  func malformedMessagesAreRejected(_ label: String, _ message: [UInt8]) {
    #expect(throws: MessagePackReader.Malformed.self, "\(label)") { try MessagePackReader.decode(message) }
  }

  @Test func numpyArraysAreChecked() throws {
    func array(_ dtype: String, _ shape: [MessagePackValue], _ data: Int) -> MessagePackValue {
      .map([.binary(Array("__ndarray__".utf8)): .bool(true), .binary(Array("dtype".utf8)): .string(dtype),
            .binary(Array("shape".utf8)): .array(shape), .binary(Array("data".utf8)): .binary([UInt8](repeating: 0, count: data))])
    }
    #expect(try NumpyArray(array("<f4", [.uint(2), .uint(3)], 24))?.shape == [2, 3])
    #expect(throws: NumpyArray.Invalid.self) { try NumpyArray(array("<f4", [.uint(2), .uint(3)], 23)) }
    #expect(throws: NumpyArray.Invalid.self) { try NumpyArray(array("|O", [.uint(1)], 8)) }
    #expect(throws: NumpyArray.Invalid.self) { try NumpyArray(array("<f4", [.int(-1)], 0)) }
    #expect(throws: NumpyArray.Invalid.self) { try NumpyArray(array("|u1", [.uint(1 << 40), .uint(1 << 40)], 0)) }
    #expect(try NumpyArray(.map([.string("prompt"): .string("x")])) == nil)
    // Little- and big-endian values read the same.
    let little = NumpyArray(dtype: "<i2", shape: [1], data: [0xfe, 0xff]), big = NumpyArray(dtype: ">i2", shape: [1], data: [0xff, 0xfe])
    #expect(little.doubles() == [-2] && big.doubles() == [-2])
  }
}
