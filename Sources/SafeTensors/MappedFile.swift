import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A whole file mapped into memory copy-on-write: tensors read straight from the page cache, and
/// a tensor written in place changes only this process's pages, never the file. The mapping stays
/// alive while any tensor made from it does.
public final class MappedFile: @unchecked Sendable {
  // @unchecked: immutable after init; the mapping is released once, in deinit.
  public let path: String
  public let base: UnsafeMutableRawPointer?
  public let size: Int

  public init(path: String) throws {
    self.path = path
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw SafeTensorsError("cannot open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw SafeTensorsError("cannot stat \(path): \(String(cString: strerror(errno)))") }
    size = Int(info.st_size)
    if size == 0 {
      base = nil
      return
    }
    let mapping = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
    guard let mapping, mapping != MAP_FAILED else {
      throw SafeTensorsError("cannot map \(path): \(String(cString: strerror(errno)))")
    }
    base = mapping
  }

  deinit {
    if let base { munmap(base, size) }
  }

  public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }
}
