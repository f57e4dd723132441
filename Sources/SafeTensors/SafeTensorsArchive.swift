#if canImport(Glibc)
import Glibc
#endif

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

  /// Drops this process's resident pages of entry `name` (after its bytes were copied elsewhere),
  /// so streaming a checkpoint into model parameters never holds two full copies in memory.
  /// Later reads of the entry fault the pages back in from the file.
  public func releasePages(_ name: String) {
    guard let entry = index[name], let base = file.base else { return }
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let start = header.dataStart + entry.range.lowerBound
    let first = (start + page - 1) / page * page          // whole pages inside the entry only
    let end = (header.dataStart + entry.range.upperBound) / page * page
    if end > first { madvise(base + first, end - first, MADV_DONTNEED) }
  }

  /// The bytes of entry `name` inside the mapping.
  public func bytes(_ name: String) throws -> UnsafeRawBufferPointer {
    guard let entry = index[name] else { throw SafeTensorsError("\(file.path): no tensor named \(name)") }
    guard let base = file.base, entry.range.count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: base + header.dataStart + entry.range.lowerBound, count: entry.range.count)
  }
}
