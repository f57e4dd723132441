import Foundation
import TestSupport
import Testing

@testable import Torch

@Suite struct SafeTensorsTests {
  static let script = repositoryRoot + "/Tests/TorchTests/Reference/safetensors_interop.py"

  /// Python's view of a file: dtype name, shape and values as float64.
  struct Described: Decodable {
    struct Entry: Decodable { let dtype: String; let shape: [Int]; let values: [Double] }
    let metadata: [String: String]
    let tensors: [String: Entry]
  }

  static func describe(_ output: String) throws -> Described {
    try JSONDecoder().decode(Described.self, from: Data(output.utf8))
  }

  static let torchNames: [DType: String] = [
    .float32: "torch.float32", .float64: "torch.float64", .bfloat16: "torch.bfloat16", .float16: "torch.float16",
    .int64: "torch.int64", .int32: "torch.int32", .int16: "torch.int16", .int8: "torch.int8",
    .uint8: "torch.uint8", .bool: "torch.bool",
  ]

  /// Deterministic tensors of every dtype, exactly representable in each.
  static func sampleTensors() throws -> [String: Tensor] {
    var tensors: [String: Tensor] = [:]
    for dtype in DType.allCases {
      let values = (0..<6).map { Double($0) * 1.5 - 4 }
      let base = try Tensor(values, shape: [2, 3])
      tensors["t.\(dtype)"] = try (dtype == .bool ? base.gt(0) : base.to(dtype: dtype.isFloatingPoint ? dtype : .int64).to(dtype: dtype))
    }
    tensors["scalar"] = try Tensor(scalar: Float(-1.25))
    tensors["empty"] = try Tensor.zeros([0, 3], dtype: .float16)
    tensors["strided"] = try Tensor.arange(0, 12, dtype: .float32).reshape([3, 4]).transpose(0, 1)
    return tensors
  }

  @Test func swiftWritesWhatPythonReads() throws {
    let dir = try temporaryDirectory("st-write")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let tensors = try Self.sampleTensors()
    try SafeTensorsWriter.write(tensors, metadata: ["origin": "swift"], to: dir + "/swift.safetensors")
    let seen = try Self.describe(runPython(Self.script, ["read", dir + "/swift.safetensors"]))
    #expect(seen.metadata == ["origin": "swift"])
    #expect(Set(seen.tensors.keys) == Set(tensors.keys))
    for (name, tensor) in tensors {
      let entry = try #require(seen.tensors[name])
      #expect(entry.dtype == Self.torchNames[tensor.dtype], "\(name)")
      #expect(entry.shape == tensor.shape, "\(name)")
      #expect(entry.values == (try tensor.doubles()), "\(name)")
    }
  }

  @Test func swiftReadsWhatPythonWrites() throws {
    let dir = try temporaryDirectory("st-read")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let written = try Self.describe(runPython(Self.script, ["write", dir]))
    let file = try SafeTensorsFile(path: dir + "/python.safetensors")
    #expect(file.metadata == written.metadata)
    #expect(Set(file.names) == Set(written.tensors.keys))
    for (name, expected) in written.tensors {
      let tensor = try file.tensor(name)
      #expect(Self.torchNames[tensor.dtype] == expected.dtype, "\(name)")
      #expect(tensor.shape == expected.shape, "\(name)")
      #expect(try tensor.doubles() == expected.values, "\(name)")
    }
  }

  @Test func shardedCheckpointsBothWays() throws {
    let dir = try temporaryDirectory("st-sharded")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    _ = try runPython(Self.script, ["write", dir])
    let pythonSharded = try ShardedCheckpoint(directory: dir + "/sharded")
    #expect(pythonSharded.names == ["layers.0.weight", "layers.1.weight", "lm_head.weight"])
    #expect(try pythonSharded.tensor("layers.0.weight").dtype == .bfloat16)
    #expect(try pythonSharded.tensor("lm_head.weight").shape == [2, 2])

    // Swift writes three shards (each tensor above the limit alone); Python reads them back.
    let tensors = try pythonSharded.tensors()
    try ShardedCheckpoint.write(tensors, to: dir + "/swift", maxShardBytes: 16)
    let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/swift").sorted()
    #expect(files.filter { $0.hasSuffix(".safetensors") }.count == 3)
    #expect(files.contains(ShardedCheckpoint.indexFileName))
    let seen = try Self.describe(runPython(Self.script, ["read_sharded", dir + "/swift"]))
    for (name, tensor) in tensors {
      #expect(seen.tensors[name]?.values == (try tensor.doubles()), "\(name)")
    }
    let reread = try ShardedCheckpoint(directory: dir + "/swift")
    #expect(reread.names == pythonSharded.names)
  }

  /// Tensors read from a file point into its mapping: no copy on load.
  @Test func readingIsZeroCopy() throws {
    let dir = try temporaryDirectory("st-zero-copy")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try SafeTensorsWriter.write(["a": Tensor.randn([64, 64]), "b": Tensor.randn([7], dtype: .bfloat16)], to: dir + "/m.safetensors")
    let file = try SafeTensorsFile(path: dir + "/m.safetensors")
    let mapping = file.file.bytes
    for name in ["a", "b"] {
      let tensor = try file.tensor(name)
      try tensor.withUnsafeBytes { bytes in
        #expect(bytes.baseAddress! >= mapping.baseAddress! && bytes.baseAddress! + bytes.count <= mapping.baseAddress! + mapping.count)
      }
    }
    // A tensor outlives the file object that made it (the mapping is kept alive by the tensor).
    var maybeFile: SafeTensorsFile? = try SafeTensorsFile(path: dir + "/m.safetensors")
    let survivor = try maybeFile!.tensor("a")
    let expected = try survivor.clone()
    maybeFile = nil
    #expect(try survivor.floats() == expected.floats())
    // Writing into a loaded tensor changes this process's copy only, never the file.
    try Autograd.withNoGrad { try survivor.fillInPlace(7) }
    #expect(try SafeTensorsFile(path: dir + "/m.safetensors").tensor("a").floats() == expected.floats())
  }

  /// Builds a file from a header JSON string and a data section.
  static func rawFile(header: String, data: [UInt8], declaredLength: UInt64? = nil) -> [UInt8] {
    var bytes: [UInt8] = []
    withUnsafeBytes(of: (declaredLength ?? UInt64(header.utf8.count)).littleEndian) { bytes += $0 }
    return bytes + Array(header.utf8) + data
  }

  @Test(arguments: [
    ("too short", [UInt8]([1, 2, 3]), "shorter than"),
    ("length past end", rawFile(header: "{}", data: [], declaredLength: 4096), "past the end"),
    ("huge length", rawFile(header: "{}", data: [], declaredLength: UInt64.max), "exceeds"),
    ("bad json", rawFile(header: "{\"a\": [", data: []), "not valid JSON"),
    ("not an object", rawFile(header: "[1, 2]", data: []), "schema"),
    ("missing shape", rawFile(header: #"{"a": {"dtype": "F32", "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0]), "shape"),
    ("unknown dtype", rawFile(header: #"{"a": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}"#, data: [0]), "unsupported dtype F8_E4M3"),
    ("offsets out of range", rawFile(header: #"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#, data: [0, 0, 0, 0]), "outside"),
    ("size mismatch", rawFile(header: #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0]), "needs 8 bytes"),
    ("negative offset", rawFile(header: #"{"a": {"dtype": "U8", "shape": [1], "data_offsets": [-1, 0]}}"#, data: [0]), "outside"),
    ("fractional size", rawFile(header: #"{"a": {"dtype": "U8", "shape": [1.5], "data_offsets": [0, 1]}}"#, data: [0, 0]), "schema"),
    ("overlap", rawFile(header: #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, data: Array(repeating: 0, count: 8)), "overlap"),
    ("bad metadata", rawFile(header: #"{"__metadata__": {"k": 1}}"#, data: []), "schema"),
  ])
  func malformedFilesAreRejected(label: String, bytes: [UInt8], expected: String) throws {
    let dir = try temporaryDirectory("st-bad")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/bad.safetensors"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    do {
      _ = try SafeTensorsFile(path: path)
      Issue.record("\(label): accepted")
    } catch let error as TorchError {
      #expect(error.message.contains(expected), "\(label): \(error.message)")
      #expect(error.message.contains(path), "\(label): the error names the file")
    }
  }

  @Test func missingFilesAndNamesAreClearErrors() throws {
    #expect(throws: TorchError.self) { try SafeTensorsFile(path: "/nonexistent/model.safetensors") }
    let dir = try temporaryDirectory("st-missing")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try SafeTensorsWriter.write(["a": Tensor.zeros([1])], to: dir + "/m.safetensors")
    do {
      _ = try SafeTensorsFile(path: dir + "/m.safetensors").tensor("b")
      Issue.record("missing tensor returned")
    } catch let error as TorchError {
      #expect(error.message.contains("no tensor named b"))
    }
  }

  /// A failed write (here: an unwritable target) leaves the previous file intact and no
  /// temporary file behind.
  @Test func failedWritesKeepThePreviousFile() throws {
    let dir = try temporaryDirectory("st-atomic")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/m.safetensors"
    try SafeTensorsWriter.write(["a": Tensor.ones([3])], to: path)
    #expect(throws: TorchError.self) {
      try SafeTensorsWriter.write([(name: "x", tensor: Tensor.ones([1])), (name: "x", tensor: Tensor.ones([1]))], to: path)
    }
    #expect(try SafeTensorsFile(path: path).tensor("a").floats() == [1, 1, 1])
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["m.safetensors"])
  }
}
