import Foundation
import Testing
import TestSupport

/// The shipped unit (systemd/rlinfd.service) as systemd itself reads it: `systemd-analyze verify`
/// accepts it, and `systemd-analyze security` rates its exposure low, with the daemon as an
/// unprivileged user of its own.
@Suite struct SystemdUnitTests {
  static let unit = repositoryRoot + "/systemd/rlinfd.service"

  /// The unit with ExecStart pointing at the rlinfd built here (verify checks it exists).
  static func unitForThisBuild() throws -> String {
    let dir = try temporaryDirectory("rlinfd-unit")
    let text = try String(contentsOfFile: unit, encoding: .utf8)
      .replacingOccurrences(of: "/usr/local/bin/rlinfd", with: try builtProduct("rlinfd"))
    try text.write(toFile: dir + "/rlinfd.service", atomically: true, encoding: .utf8)
    return dir + "/rlinfd.service"
  }

  @Test func runsAsItsOwnUnprivilegedUser() throws {
    let lines = try String(contentsOfFile: Self.unit, encoding: .utf8).split(separator: "\n").map(String.init)
    #expect(lines.contains("DynamicUser=yes"))
    #expect(!lines.contains { $0.hasPrefix("User=") || $0.hasPrefix("AmbientCapabilities=CAP") })
    #expect(lines.contains("CapabilityBoundingSet="))
    #expect(!lines.contains { $0.hasPrefix("ReadWritePaths=") })  // only its state and runtime directories
  }

  @Test func systemdAcceptsTheUnit() throws {
    let path = try Self.unitForThisBuild()
    defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
    // verify exits 0 on unknown keys and only warns (on stderr): both count here.
    let (status, output) = try runCapturing("/usr/bin/systemd-analyze", ["verify", path])
    #expect(status == 0 && !output.contains("rlinfd.service:"), "verify: \(output)")
  }

  @Test func exposureIsLow() throws {
    let path = try Self.unitForThisBuild()
    defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
    // --threshold=20: exits non-zero when the exposure is above 2.0 of 10.
    let (status, report) = try runCapturing("/usr/bin/systemd-analyze", ["security", "--offline=yes", "--threshold=20", "--no-pager", path])
    #expect(status == 0 && report.contains("Overall exposure level for rlinfd.service"), "security: \(report)")
  }
}
