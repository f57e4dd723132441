import Foundation

/// The repository root, found from this file's location.
public let repositoryRoot: String = {
  var url = URL(fileURLWithPath: #filePath)
  for _ in 0..<3 { url.deleteLastPathComponent() }  // Python.swift, TestSupport, Tests
  return url.path
}()

public struct TestSupportError: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}

/// The Python that has torch, safetensors and Pillow: $RLINF_PYTHON, else the venv tools/setup
/// creates.
public func referencePython() throws -> String {
  try venvPython(variable: "RLINF_PYTHON", venv: ".venv", what: "reference Python", contents: "torch, safetensors, Pillow")
}

/// The Python with RLinf's own package (rlinf 0.3.0 on PyTorch 2.x, the CPU wheel):
/// $RLINF_REFERENCE_PYTHON, else the venv tools/setup creates for it.
public func rlinfPython() throws -> String {
  try venvPython(variable: "RLINF_REFERENCE_PYTHON", venv: ".venv-rlinf", what: "RLinf reference Python", contents: "rlinf 0.3.0")
}

/// $`variable` when set, else the interpreter of the repository's `venv` that tools/setup makes.
private func venvPython(variable: String, venv: String, what: String, contents: String) throws -> String {
  if let python = ProcessInfo.processInfo.environment[variable], !python.isEmpty { return python }
  let path = repositoryRoot + "/\(venv)/bin/python"
  guard FileManager.default.isExecutableFile(atPath: path) else {
    throw TestSupportError("no \(what): run tools/setup (creates \(venv) with \(contents)) or set \(variable)")
  }
  return path
}

/// Runs `python script args...` and returns its standard output; throws with its output when
/// it fails.
@discardableResult
public func runPython(_ script: String, _ arguments: [String]) throws -> String {
  try runProgram(try referencePython(), [script] + arguments)
}

/// Runs a program and returns its standard output; throws with its output when it fails.
@discardableResult
public func runProgram(_ executable: String, _ arguments: [String]) throws -> String {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: executable)
  process.arguments = arguments
  let out = Pipe(), err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
  let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
  process.waitUntilExit()
  guard process.terminationStatus == 0 else {
    throw TestSupportError("\(executable) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)):\n\(output)\(errors)")
  }
  return output
}

/// Runs a program to its end whatever its exit status; returns the status and its stdout and
/// stderr together (for tests of failures and of warnings printed on stderr).
public func runCapturing(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: executable)
  process.arguments = arguments
  let pipe = Pipe()
  process.standardOutput = pipe
  process.standardError = pipe
  try process.run()
  let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
  process.waitUntilExit()
  return (process.terminationStatus, output)
}

/// A product built beside the test runner (swift build puts executables and the test bundle
/// in the same folder), e.g. "rlinfd".
public func builtProduct(_ name: String) throws -> String {
  let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  for folder in [beside, beside.deletingLastPathComponent()] {
    let path = folder.appendingPathComponent(name).path
    if FileManager.default.isExecutableFile(atPath: path) { return path }
  }
  let fallback = repositoryRoot + "/.build/debug/" + name
  guard FileManager.default.isExecutableFile(atPath: fallback) else {
    throw TestSupportError("\(name) is not built next to the tests (\(beside.path)); run `swift build` first")
  }
  return fallback
}

/// A fresh temporary directory; the caller removes it.
public func temporaryDirectory(_ label: String) throws -> String {
  let path = NSTemporaryDirectory() + "rlinf-\(label)-\(UUID().uuidString)"
  try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  return path
}
