import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A whole file mapped into memory copy-on-write: tensors read straight from the page cache, and
/// a tensor written in place changes only this process's pages, never the file. The mapping stays
/// alive while any tensor made from it does.
final class MappedFile: @unchecked Sendable {
  // @unchecked: immutable after init; the mapping is released once, in deinit.
  let path: String
  let base: UnsafeMutableRawPointer?
  let size: Int

  init(path: String) throws {
    self.path = path
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw TorchError("cannot open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw TorchError("cannot stat \(path): \(String(cString: strerror(errno)))") }
    size = Int(info.st_size)
    if size == 0 {
      base = nil
      return
    }
    let mapping = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
    guard let mapping, mapping != MAP_FAILED else {
      throw TorchError("cannot map \(path): \(String(cString: strerror(errno)))")
    }
    base = mapping
  }

  deinit {
    if let base { munmap(base, size) }
  }

  var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }
}
