import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A POSIX shared-memory segment (`/dev/shm/NAME`) mapped into this process. A Python worker
/// maps the same file, so observations and actions cross without copies or pickling. Removed
/// when released.
final class SharedMemory {
  let name: String
  let size: Int
  let base: UnsafeMutableRawPointer
  nonisolated(unsafe) private static var counter = 0
  private static let lock = NSLock()

  init(size: Int) throws {
    let n = Self.lock.withLock { () -> Int in
      Self.counter += 1
      return Self.counter
    }
    name = "rlinf-\(getpid())-\(n)-\(UInt32.random(in: 0...UInt32.max))"
    self.size = max(size, 1)
    let fd = shm_open("/" + name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw SimError.worker("shm_open \(name): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    guard ftruncate(fd, off_t(self.size)) == 0 else {
      shm_unlink("/" + name)
      throw SimError.worker("sizing shared memory \(name) to \(self.size) bytes: \(String(cString: strerror(errno)))")
    }
    guard let mapped = mmap(nil, self.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), mapped != MAP_FAILED else {
      shm_unlink("/" + name)
      throw SimError.worker("mapping shared memory \(name): \(String(cString: strerror(errno)))")
    }
    base = mapped
  }

  /// The path the worker opens.
  var path: String { "/dev/shm/" + name }

  deinit {
    munmap(base, size)
    shm_unlink("/" + name)
  }
}
