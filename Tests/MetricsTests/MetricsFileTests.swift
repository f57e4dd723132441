import Foundation
import Metrics
import Testing
import TestSupport

@Suite struct MetricsFileTests {
  /// The standard CRC-32C check value, and TFRecord's masking.
  @Test func crc32cMatchesTheCheckValue() {
    #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    #expect(CRC32C.checksum([UInt8]()) == 0)
    let crc = CRC32C.checksum(Array("abc".utf8))
    #expect(CRC32C.masked(Array("abc".utf8)) == ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8)
  }

  /// What TensorBoard's own reader finds in our event files: every tag and step, the values.
  @Test func tensorboardReadsTheEventFile() throws {
    let dir = try temporaryDirectory("tfevents")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let sink = try TensorBoardSink(directory: dir)
    for step in 1...5 {
      try sink.write(step: step, metrics: ["env/success_once": Double(step) / 10, "train/actor/policy_loss": -Double(step), "bad/nan": .nan])
    }
    try sink.flush()
    let output = try runPython(repositoryRoot + "/Tests/MetricsTests/Reference/read_tfevents.py", [sink.path])
    let parsed = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
    #expect(parsed["versions"] as? [String] == ["brain.Event:2"])
    let scalars = parsed["scalars"] as! [String: [[Double]]]
    #expect(Set(scalars.keys) == ["env/success_once", "train/actor/policy_loss"])  // NaN left out
    #expect(scalars["env/success_once"]!.map { $0[0] } == [1, 2, 3, 4, 5])
    #expect(zip(scalars["env/success_once"]!.map { $0[1] }, [0.1, 0.2, 0.3, 0.4, 0.5]).allSatisfy { abs($0 - $1) < 1e-6 })
    #expect(scalars["train/actor/policy_loss"]!.map { $0[1] } == [-1, -2, -3, -4, -5])
  }

  @Test func jsonLinesAppendAcrossWriters() throws {
    let dir = try temporaryDirectory("jsonl")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/run/metrics.jsonl"
    try JSONLinesSink(path: path).write(step: 1, metrics: ["a": 1, "b": .infinity])
    try JSONLinesSink(path: path).write(step: 2, metrics: ["a": 2])  // a resumed run appends
    let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
    #expect(lines == [#"{"metrics":{"a":1},"step":1}"#, #"{"metrics":{"a":2},"step":2}"#])
  }
}
