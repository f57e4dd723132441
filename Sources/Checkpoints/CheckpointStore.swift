import Foundation

/// The checkpoints of one run, in `root`:
///
///     global_step_20/        complete checkpoints (their files + MANIFEST.json)
///     global_step_30/
///     latest                 "global_step_30": updated last, after the directory is in place
///     .tmp-global_step_40-*  being written (removed on start: a killed writer's leftovers)
///
/// A checkpoint is written into a temporary directory, every file fsynced, the directory fsynced,
/// renamed to its final name, the root fsynced, and only then `latest` replaced (atomically, the
/// same way). A crash at any moment leaves the previous checkpoint complete and `latest` naming a
/// complete one. Old checkpoints are renamed away before they are deleted, so a half-deleted one
/// never carries a valid name. MANIFEST.json lists every file's size; a checkpoint whose files do
/// not match it is skipped when looking for the newest complete one.
public final class CheckpointStore: @unchecked Sendable {
  public let root: String
  /// Complete checkpoints kept besides the best one (at least 1).
  public let keepLast: Int
  /// Also keep the checkpoint with the best evaluation success and the one `best()` hands over.
  public let keepBest: Bool
  public static let manifestFile = "MANIFEST.json"
  static let latestFile = "latest"
  private let lock = NSLock()

  /// One complete checkpoint.
  public struct Entry: Sendable, Equatable {
    public let step: Int
    public let path: String
    public let evalSuccess: Double?
    public let evalEpisodes: Int?
    public let bytes: Int
  }

  struct Manifest: Codable {
    var step: Int
    var files: [String: Int]
    var evalSuccess: Double?
    var evalEpisodes: Int?
    var createdAt: Double
  }

  public init(root: String, keepLast: Int = 3, keepBest: Bool = true) throws {
    self.root = root
    self.keepLast = max(1, keepLast)
    self.keepBest = keepBest
    do {
      try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    } catch {
      throw CheckpointError("cannot create the checkpoint folder \(root): \(error.localizedDescription)")
    }
    for name in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] where name.hasPrefix(".tmp-") || name.hasPrefix(".deleting-") {
      try? FileManager.default.removeItem(atPath: root + "/" + name)
    }
  }

  public static func directoryName(step: Int) -> String { "global_step_\(step)" }

  /// Writes `snapshot` as checkpoint `global_step_<step>` and makes it the latest; applies the
  /// retention. Returns its path. On failure nothing of it remains and the previous checkpoints
  /// and `latest` are untouched.
  @discardableResult
  public func commit(_ snapshot: CheckpointSnapshot) throws -> String {
    lock.lock()
    defer { lock.unlock() }
    let name = Self.directoryName(step: snapshot.step)
    let final = root + "/" + name
    let temporary = root + "/.tmp-\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: temporary)
    do {
      try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)
      var files = snapshot.files
      let manifest = Manifest(
        step: snapshot.step, files: files.mapValues(\.count), evalSuccess: snapshot.evalSuccess, evalEpisodes: snapshot.evalEpisodes, createdAt: Date().timeIntervalSince1970)
      files[Self.manifestFile] = Array(try JSONEncoder().encode(manifest))
      try CheckpointFiles.write(files, into: temporary)
      if FileManager.default.fileExists(atPath: final) {
        // The same step again (e.g. a resumed run saving the step it resumed from): replace it.
        try retire(name)
      }
      guard rename(temporary, final) == 0 else { throw CheckpointError("cannot rename \(temporary) to \(final): \(String(cString: strerror(errno)))") }
      try CheckpointFiles.syncDirectory(root)
      try writeLatest(name)
    } catch {
      try? FileManager.default.removeItem(atPath: temporary)
      throw error
    }
    try applyRetention()
    return final
  }

  /// Complete checkpoints, oldest first.
  public func list() -> [Entry] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
    return names.compactMap { name -> Entry? in
      guard name.hasPrefix("global_step_"), Int(name.dropFirst("global_step_".count)) != nil else { return nil }
      return try? verify(root + "/" + name)
    }.sorted { $0.step < $1.step }
  }

  /// The newest complete checkpoint: the one `latest` names when it verifies, else the newest
  /// that does (nil: none).
  public func latest() -> Entry? {
    if let text = try? String(contentsOfFile: root + "/" + Self.latestFile, encoding: .utf8),
       let entry = try? verify(root + "/" + text.trimmingCharacters(in: .whitespacesAndNewlines)) {
      return entry
    }
    return list().last
  }

  /// The checkpoint with the highest evaluation success (ties: the newer).
  public func topEvaluated() -> Entry? { Self.top(list()) }

  /// The checkpoint to hand over: the newest whose evaluation lies within one standard error
  /// of the top one's (sqrt(p(1-p)/n) over its episodes; without a count, the top one). The
  /// evaluation cannot tell those apart, and the newer has trained longer: on randomised scenes
  /// what it learned carried over to the unseen splits (README "Learning efficiency").
  public func best() -> Entry? { Self.best(list()) }

  static func top(_ entries: [Entry]) -> Entry? {
    entries.filter { $0.evalSuccess != nil }.max { ($0.evalSuccess!, $0.step) < ($1.evalSuccess!, $1.step) }
  }

  static func best(_ entries: [Entry]) -> Entry? {
    guard let top = top(entries), let p = top.evalSuccess else { return nil }
    let error = top.evalEpisodes.map { n in (p * (1 - p) / Double(max(n, 1))).squareRoot() } ?? 0
    return entries.filter { ($0.evalSuccess ?? -1) >= p - error - 1e-12 }.max { $0.step < $1.step }
  }

  /// Reads a checkpoint's manifest and checks every file is there with its size.
  public func verify(_ path: String) throws -> Entry {
    guard let data = FileManager.default.contents(atPath: path + "/" + Self.manifestFile) else {
      throw CheckpointError("\(path) has no \(Self.manifestFile): not a complete checkpoint")
    }
    let manifest: Manifest
    do { manifest = try JSONDecoder().decode(Manifest.self, from: data) } catch {
      throw CheckpointError("\(path)/\(Self.manifestFile) is unreadable: \(error)")
    }
    for (file, size) in manifest.files {
      let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + file)
      guard let actual = attributes?[.size] as? Int, actual == size else {
        throw CheckpointError("\(path)/\(file) is missing or does not have the \(size) bytes the manifest lists")
      }
    }
    return Entry(step: manifest.step, path: path, evalSuccess: manifest.evalSuccess, evalEpisodes: manifest.evalEpisodes, bytes: manifest.files.values.reduce(0, +))
  }

  private func writeLatest(_ name: String) throws {
    let temporary = root + "/.tmp-latest-\(getpid())"
    try CheckpointFiles.write([".tmp-latest-\(getpid())": Array((name + "\n").utf8)], into: root)
    guard rename(temporary, root + "/" + Self.latestFile) == 0 else {
      throw CheckpointError("cannot update \(root)/\(Self.latestFile): \(String(cString: strerror(errno)))")
    }
    try CheckpointFiles.syncDirectory(root)
  }

  /// Keeps the newest `keepLast` and (with keepBest) the best; retires the rest.
  private func applyRetention() throws {
    let all = list()
    var keep = Set(all.suffix(keepLast).map(\.step))
    // The top one too: the handed-over one is measured against it, so it must not drift away.
    if keepBest, let best = Self.best(all), let top = Self.top(all) { keep.formUnion([best.step, top.step]) }
    for entry in all where !keep.contains(entry.step) {
      try retire(Self.directoryName(step: entry.step))
    }
  }

  /// Renames a checkpoint away from its valid name, then deletes it.
  private func retire(_ name: String) throws {
    let doomed = root + "/.deleting-\(name)-\(getpid())"
    guard rename(root + "/" + name, doomed) == 0 else {
      throw CheckpointError("cannot retire \(root)/\(name): \(String(cString: strerror(errno)))")
    }
    try? FileManager.default.removeItem(atPath: doomed)
  }
}
