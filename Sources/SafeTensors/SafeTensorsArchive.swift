/// A safetensors file mapped for reading: the validated header and each entry's bytes, which are
/// views into the mapping (valid while the archive, or its `file`, lives).
public final class SafeTensorsArchive: @unchecked Sendable {
  // @unchecked: immutable after init.
  public let header: SafeTensorsHeader
  public let file: MappedFile
  private let index: [String: SafeTensorsHeader.Entry]

  public init(path: String) throws {
    file = try MappedFile(path: path)
    header = try SafeTensorsHeader.parse(file.bytes, fileSize: file.size, source: path)
    index = Dictionary(uniqueKeysWithValues: header.entries.map { ($0.name, $0) })
  }

  /// Entry names in data order.
  public var names: [String] { header.entries.map(\.name) }
  public var metadata: [String: String] { header.metadata }
  public var path: String { file.path }

  public func entry(_ name: String) -> SafeTensorsHeader.Entry? { index[name] }

  /// The bytes of entry `name` inside the mapping.
  public func bytes(_ name: String) throws -> UnsafeRawBufferPointer {
    guard let entry = index[name] else { throw SafeTensorsError("\(file.path): no tensor named \(name)") }
    guard let base = file.base, entry.range.count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: base + header.dataStart + entry.range.lowerBound, count: entry.range.count)
  }
}
