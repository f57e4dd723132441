import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes safetensors files atomically: to a temporary file beside the target, fsynced, renamed
/// over the target, then the directory fsynced. A crash leaves either the old file or the new one.
public enum SafeTensorsArchiveWriter {
  /// One entry to write: `write(fd)` must emit exactly shape.product * dtype.byteSize bytes.
  public struct Entry {
    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    public let bytes: UnsafeRawBufferPointer

    public init(name: String, dtype: SafeTensorsDType, shape: [Int], bytes: UnsafeRawBufferPointer) {
      self.name = name
      self.dtype = dtype
      self.shape = shape
      self.bytes = bytes
    }
  }

  /// Writes `entries` in order, with string metadata.
  public static func write(_ entries: [Entry], metadata: [String: String] = [:], to path: String) throws {
    let header = try header(entries, metadata: metadata, describing: path)
    try AtomicFile.write(to: path) { fd in
      try header.withUnsafeBytes { try AtomicFile.writeAll(fd, $0, path) }
      for entry in entries { try AtomicFile.writeAll(fd, entry.bytes, path) }
    }
  }

  /// The whole file in memory (a snapshot that a background writer can put on disk later).
  public static func encode(_ entries: [Entry], metadata: [String: String] = [:]) throws -> [UInt8] {
    var bytes = try header(entries, metadata: metadata, describing: "a snapshot")
    bytes.reserveCapacity(bytes.count + entries.reduce(0) { $0 + $1.bytes.count })
    for entry in entries { bytes.append(contentsOf: entry.bytes) }
    return bytes
  }

  /// Checks the entries and encodes the length-prefixed JSON header that precedes their bytes.
  private static func header(_ entries: [Entry], metadata: [String: String], describing path: String) throws -> [UInt8] {
    var names = Set<String>()
    for entry in entries {
      guard names.insert(entry.name).inserted, entry.name != "__metadata__" else {
        throw SafeTensorsError("safetensors: duplicate or reserved tensor name \(entry.name) writing \(path)")
      }
      let expected = entry.shape.reduce(1, *) * entry.dtype.byteSize
      guard entry.bytes.count == expected else {
        throw SafeTensorsError("safetensors: \(entry.name) has \(entry.bytes.count) bytes, shape \(entry.shape) of \(entry.dtype) needs \(expected)")
      }
    }
    var offset = 0
    let layout = entries.map { entry -> SafeTensorsHeader.Entry in
      defer { offset += entry.bytes.count }
      return .init(name: entry.name, dtype: entry.dtype, shape: entry.shape, range: offset..<(offset + entry.bytes.count))
    }
    return Array(try SafeTensorsHeader.encode(entries: layout, metadata: metadata))
  }
}

/// Write-to-temporary, fsync, rename, fsync-directory.
public enum AtomicFile {
  public static func write(to path: String, _ body: (Int32) throws -> Void) throws {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    let temporary = directory + "/.\(url.lastPathComponent).tmp-\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw SafeTensorsError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
    do {
      try body(fd)
      guard fsync(fd) == 0 else { throw SafeTensorsError("fsync \(temporary): \(String(cString: strerror(errno)))") }
      close(fd)
    } catch {
      close(fd)
      unlink(temporary)
      throw error
    }
    guard rename(temporary, path) == 0 else {
      let reason = String(cString: strerror(errno))
      unlink(temporary)
      throw SafeTensorsError("cannot rename \(temporary) to \(path): \(reason)")
    }
    let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dirfd >= 0 {
      fsync(dirfd)
      close(dirfd)
    }
  }

  /// Writes all of `bytes`, retrying short writes and EINTR.
  public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ path: String) throws {
    var done = 0
    while done < bytes.count {
      let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
      if n < 0 {
        if errno == EINTR { continue }
        throw SafeTensorsError("writing \(path): \(String(cString: strerror(errno)))")
      }
      done += n
    }
  }
}
