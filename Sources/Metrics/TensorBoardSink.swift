import Foundation

/// TensorBoard event files (`events.out.tfevents.<time>.<host>`), read by `tensorboard --logdir`.
///
/// Each record is TFRecord-framed: length (u64 little-endian), masked CRC-32C of the length,
/// the bytes, masked CRC-32C of the bytes. Each record's bytes are an `Event` protocol buffer,
/// encoded here by hand: wall_time (1, double), step (2, int64), and either file_version (3,
/// string, the first record) or summary (5) holding one `Summary.Value` per metric with tag (1,
/// string) and simple_value (2, float).
public final class TensorBoardSink: MetricsSink {
  public let path: String
  private let handle: FileHandle

  /// A new event file in `directory` (a resumed run starts another one; TensorBoard reads all).
  public init(directory: String) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
    var name = "events.out.tfevents.\(Int(Date().timeIntervalSince1970)).\(host)"
    var n = 1
    while FileManager.default.fileExists(atPath: directory + "/" + name) {
      name = "events.out.tfevents.\(Int(Date().timeIntervalSince1970)).\(host).\(n)"
      n += 1
    }
    path = directory + "/" + name
    _ = FileManager.default.createFile(atPath: path, contents: nil)
    handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    var event = Protobuf()
    event.double(field: 1, Date().timeIntervalSince1970)
    event.string(field: 3, "brain.Event:2")
    try append(event.bytes)
  }

  deinit { try? handle.close() }

  public func write(step: Int, metrics: [String: Double]) throws {
    var summary = Protobuf()
    for (tag, value) in metrics.sorted(by: { $0.key < $1.key }) where value.isFinite {
      var entry = Protobuf()
      entry.string(field: 1, tag)
      entry.float(field: 2, Float(value))
      summary.message(field: 1, entry)
    }
    var event = Protobuf()
    event.double(field: 1, Date().timeIntervalSince1970)
    event.int64(field: 2, Int64(step))
    event.message(field: 5, summary)
    try append(event.bytes)
  }

  public func flush() throws { try handle.synchronize() }

  private func append(_ record: [UInt8]) throws {
    var framed: [UInt8] = []
    let length = withUnsafeBytes(of: UInt64(record.count).littleEndian) { Array($0) }
    framed += length
    framed += withUnsafeBytes(of: CRC32C.masked(length).littleEndian) { Array($0) }
    framed += record
    framed += withUnsafeBytes(of: CRC32C.masked(record).littleEndian) { Array($0) }
    try handle.write(contentsOf: framed)
  }
}

/// The few protocol-buffer wire types an Event needs.
struct Protobuf {
  private(set) var bytes: [UInt8] = []

  private mutating func varint(_ value: UInt64) {
    var v = value
    while v >= 0x80 {
      bytes.append(UInt8(v & 0x7F) | 0x80)
      v >>= 7
    }
    bytes.append(UInt8(v))
  }

  private mutating func key(_ field: Int, _ wireType: UInt64) { varint(UInt64(field) << 3 | wireType) }

  mutating func double(field: Int, _ value: Double) {
    key(field, 1)
    bytes += withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
  }

  mutating func float(field: Int, _ value: Float) {
    key(field, 5)
    bytes += withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
  }

  mutating func int64(field: Int, _ value: Int64) {
    key(field, 0)
    varint(UInt64(bitPattern: value))
  }

  mutating func string(field: Int, _ value: String) {
    let utf8 = Array(value.utf8)
    key(field, 2)
    varint(UInt64(utf8.count))
    bytes += utf8
  }

  mutating func message(field: Int, _ value: Protobuf) {
    key(field, 2)
    varint(UInt64(value.bytes.count))
    bytes += value.bytes
  }
}
