import CSys
import Foundation

/// A checkpoint as bytes in memory: file name -> contents. Built by a snapshot (a copy of the
/// training state) so the write can happen while training goes on.
public struct CheckpointSnapshot: Sendable {
  public var step: Int
  public var files: [String: [UInt8]]
  /// Evaluation success at this step, for keep-best (nil: not evaluated).
  public var evalSuccess: Double?
  /// Episodes behind `evalSuccess` (its standard error; nil: unknown).
  public var evalEpisodes: Int?

  public init(step: Int, files: [String: [UInt8]], evalSuccess: Double? = nil, evalEpisodes: Int? = nil) {
    self.step = step
    self.files = files
    self.evalSuccess = evalSuccess
    self.evalEpisodes = evalEpisodes
  }

  public var byteCount: Int { files.values.reduce(0) { $0 + $1.count } }
}

/// Why a checkpoint could not be written or read.
public struct CheckpointError: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}

enum CheckpointFiles {
  /// Writes every file of `snapshot` into the existing directory `directory` with io_uring
  /// (each written in full and fsynced), then fsyncs the directory. Returns whether io_uring ran
  /// (false: the kernel refused it and plain writes were used).
  @discardableResult
  static func write(_ files: [String: [UInt8]], into directory: String) throws -> Bool {
    let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard dirfd >= 0 else { throw CheckpointError("cannot open \(directory): \(String(cString: strerror(errno)))") }
    defer { close(dirfd) }
    let names = files.keys.sorted()
    var usedURing: Int32 = 0, failed: Int32 = -1
    let rc: Int32 = try withCStrings(names) { cNames in
      try withByteArrays(names.map { files[$0]! }) { pointers, lengths in
        csys_write_files(dirfd, cNames, pointers, lengths, Int32(names.count), &usedURing, &failed)
      }
    }
    guard rc == 0 else {
      let file = failed >= 0 && Int(failed) < names.count ? names[Int(failed)] : "?"
      throw CheckpointError("writing \(directory)/\(file): \(String(cString: strerror(-rc)))")
    }
    try syncDirectory(directory)
    return usedURing != 0
  }

  static func syncDirectory(_ directory: String) throws {
    let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw CheckpointError("cannot open \(directory): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw CheckpointError("fsync \(directory): \(String(cString: strerror(errno)))") }
  }

  private static func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) throws -> T) throws -> T {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer($0) }
    return try pointers.withUnsafeBufferPointer { try body($0.baseAddress!) }
  }

  /// Calls `body` with the base address and length of every array, each valid for the call.
  private static func withByteArrays<T>(
    _ arrays: [[UInt8]], _ body: (UnsafePointer<UnsafeRawPointer?>, UnsafePointer<UInt>) throws -> T
  ) throws -> T {
    func nest(_ rest: ArraySlice<[UInt8]>, _ pointers: [UnsafeRawPointer?]) throws -> T {
      guard let first = rest.first else {
        let lengths = arrays.map { UInt($0.count) }
        return try pointers.withUnsafeBufferPointer { p in try lengths.withUnsafeBufferPointer { l in try body(p.baseAddress!, l.baseAddress!) } }
      }
      return try first.withUnsafeBytes { try nest(rest.dropFirst(), pointers + [$0.baseAddress]) }
    }
    return try nest(arrays[...], [])
  }
}
