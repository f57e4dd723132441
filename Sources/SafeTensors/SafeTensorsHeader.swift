import Foundation

/// The safetensors layout: an 8-byte little-endian header length N, N bytes of JSON
/// (`{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}`),
/// then the tensor bytes; offsets are relative to the end of the header.
public struct SafeTensorsHeader: Sendable {
  public struct Entry: Sendable, Equatable {
    public init(name: String, dtype: SafeTensorsDType, shape: [Int], range: Range<Int>) {
      self.name = name
      self.dtype = dtype
      self.shape = shape
      self.range = range
    }

    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Byte range within the data section.
    public let range: Range<Int>
  }

  /// Entries in data order.
  public let entries: [Entry]
  public let metadata: [String: String]
  /// Where the data section starts in the file (8 + header length).
  public let dataStart: Int

  /// Largest header accepted (the reference implementation's limit), so a corrupt length cannot
  /// make us allocate gigabytes.
  static let maxHeaderBytes = 100_000_000

  public init(entries: [Entry], metadata: [String: String], dataStart: Int) {
    self.entries = entries
    self.metadata = metadata
    self.dataStart = dataStart
  }

  /// Parses and validates the header of a file of `fileSize` bytes whose first bytes are `bytes`
  /// (at least the 8-byte length, and the whole header when it fits). Every offset is checked
  /// against the file, so no later read can go out of bounds.
  public static func parse(_ bytes: UnsafeRawBufferPointer, fileSize: Int, source: String) throws -> SafeTensorsHeader {
    func fail(_ why: String) -> SafeTensorsError { SafeTensorsError("\(source): not a valid safetensors file: \(why)") }
    guard fileSize >= 8, bytes.count >= 8 else { throw fail("\(fileSize) bytes is shorter than the 8-byte header length") }
    let length = bytes.loadUnaligned(as: UInt64.self).littleEndian
    guard length <= UInt64(maxHeaderBytes) else { throw fail("header length \(length) exceeds \(maxHeaderBytes) bytes") }
    let headerLength = Int(length)
    guard 8 + headerLength <= fileSize, 8 + headerLength <= bytes.count else {
      throw fail("header length \(headerLength) runs past the end of the file (\(fileSize) bytes)")
    }
    let raw: RawHeader
    do {
      raw = try JSONDecoder().decode(RawHeader.self, from: Data(bytes[8..<(8 + headerLength)]))
    } catch let error as DecodingError {
      throw fail("header JSON does not match the safetensors schema (\(describe(error)))")
    } catch {
      throw fail("header is not valid JSON (\(error))")
    }

    let dataSize = fileSize - 8 - headerLength
    var entries = try raw.entries.map { try validate($0.name, $0.entry, dataSize: dataSize, fail: fail) }
    entries.sort { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }
    for (previous, next) in zip(entries, entries.dropFirst()) where next.range.lowerBound < previous.range.upperBound {
      throw fail("tensors \(previous.name) and \(next.name) overlap (bytes \(previous.range) and \(next.range))")
    }
    return SafeTensorsHeader(entries: entries, metadata: raw.metadata, dataStart: 8 + headerLength)
  }

  private static func validate(
    _ name: String, _ raw: RawEntry, dataSize: Int, fail: (String) -> SafeTensorsError
  ) throws -> Entry {
    guard let dtype = SafeTensorsDType(rawValue: raw.dtype) else { throw fail("tensor \(name) has unsupported dtype \(raw.dtype)") }
    var count = 1
    for size in raw.shape {
      guard size >= 0 else { throw fail("tensor \(name) has a negative size in shape \(raw.shape)") }
      let (product, overflow) = count.multipliedReportingOverflow(by: size)
      guard !overflow else { throw fail("tensor \(name): shape \(raw.shape) overflows") }
      count = product
    }
    guard raw.data_offsets.count == 2 else { throw fail("tensor \(name): data_offsets must be [begin, end]") }
    let (begin, end) = (raw.data_offsets[0], raw.data_offsets[1])
    guard 0 <= begin, begin <= end, end <= dataSize else {
      throw fail("tensor \(name): data_offsets [\(begin), \(end)] outside the \(dataSize)-byte data section")
    }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
    guard !overflow, bytes == end - begin else {
      throw fail("tensor \(name): shape \(raw.shape) of \(raw.dtype) needs \(bytes) bytes, data_offsets span \(end - begin)")
    }
    return Entry(name: name, dtype: dtype, shape: raw.shape, range: begin..<end)
  }

  private static func describe(_ error: DecodingError) -> String {
    switch error {
    case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context),
      .dataCorrupted(let context):
      let path = context.codingPath.map(\.stringValue).joined(separator: ".")
      return path.isEmpty ? context.debugDescription : "at \(path): \(context.debugDescription)"
    @unknown default:
      return "\(error)"
    }
  }

  /// The JSON as written: "__metadata__" and one object per tensor.
  private struct RawHeader: Decodable {
    var metadata: [String: String] = [:]
    var entries: [(name: String, entry: RawEntry)] = []

    init(from decoder: Decoder) throws {
      let container = try decoder.container(keyedBy: AnyKey.self)
      for key in container.allKeys {
        if key.stringValue == "__metadata__" {
          metadata = try container.decode([String: String].self, forKey: key)
        } else {
          entries.append((key.stringValue, try container.decode(RawEntry.self, forKey: key)))
        }
      }
    }
  }

  private struct RawEntry: Decodable {
    let dtype: String
    let shape: [Int]
    let data_offsets: [Int]
  }

  private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }

  /// Serialises a header for `entries` (ranges already laid out) padded with spaces to a
  /// multiple of 8 bytes, so the data section starts aligned.
  public static func encode(entries: [Entry], metadata: [String: String]) throws -> Data {
    var dict: [String: Any] = [:]
    if !metadata.isEmpty { dict["__metadata__"] = metadata }
    for e in entries {
      dict[e.name] = ["dtype": e.dtype.rawValue, "shape": e.shape, "data_offsets": [e.range.lowerBound, e.range.upperBound]] as [String: Any]
    }
    var json = try JSONSerialization.data(withJSONObject: dict, options: [.sortedKeys])
    while (8 + json.count) % 8 != 0 { json.append(UInt8(ascii: " ")) }
    var out = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
    out.append(json)
    return out
  }
}
