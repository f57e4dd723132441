import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes safetensors files atomically: to a temporary file beside the target, fsynced, renamed
/// over the target, then the directory fsynced. A crash leaves either the old file or the new one.
public enum SafeTensorsWriter {
  /// Writes `tensors` (any device/layout; written as contiguous CPU bytes) in the given order.
  public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:], to path: String) throws {
    var names = Set<String>()
    for (name, _) in tensors where !names.insert(name).inserted || name == "__metadata__" {
      throw TorchError("safetensors: duplicate or reserved tensor name \(name)")
    }
    let prepared = try tensors.map { (name: $0.name, tensor: try $0.tensor.detached().to(device: .cpu).contiguous()) }
    var offset = 0
    let entries = prepared.map { item -> SafeTensorsHeader.Entry in
      let bytes = item.tensor.elementCount * item.tensor.dtype.byteSize
      defer { offset += bytes }
      return .init(name: item.name, dtype: item.tensor.dtype, shape: item.tensor.shape, range: offset..<(offset + bytes))
    }
    let header = try SafeTensorsHeader.encode(entries: entries, metadata: metadata)
    try AtomicFile.write(to: path) { fd in
      try header.withUnsafeBytes { try writeAll(fd, $0, path) }
      for item in prepared { try item.tensor.withUnsafeBytes { try writeAll(fd, $0, path) } }
    }
  }

  /// Convenience for a dictionary (written in sorted name order).
  public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to path: String) throws {
    try write(tensors.sorted { $0.key < $1.key }.map { (name: $0.key, tensor: $0.value) }, metadata: metadata, to: path)
  }

  static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ path: String) throws {
    var done = 0
    while done < bytes.count {
      let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
      if n < 0 {
        if errno == EINTR { continue }
        throw TorchError("writing \(path): \(String(cString: strerror(errno)))")
      }
      done += n
    }
  }
}

/// Write-to-temporary, fsync, rename, fsync-directory.
enum AtomicFile {
  static func write(to path: String, _ body: (Int32) throws -> Void) throws {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    let temporary = directory + "/.\(url.lastPathComponent).tmp-\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw TorchError("cannot create \(temporary): \(String(cString: strerror(errno)))") }
    do {
      try body(fd)
      guard fsync(fd) == 0 else { throw TorchError("fsync \(temporary): \(String(cString: strerror(errno)))") }
      close(fd)
    } catch {
      close(fd)
      unlink(temporary)
      throw error
    }
    guard rename(temporary, path) == 0 else {
      let reason = String(cString: strerror(errno))
      unlink(temporary)
      throw TorchError("cannot rename \(temporary) to \(path): \(reason)")
    }
    let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if dirfd >= 0 {
      fsync(dirfd)
      close(dirfd)
    }
  }
}
