// The Swift half of tools/bench-sim: env steps/s of the embedded simulator for a batch of
// environments under random actions, with physics and rendering measured apart, and resident
// memory per environment. Prints `key value` lines for the script to tabulate.
//
// usage: bench-sim-swift ENVS THREADS STEPS
import Dispatch
import Foundation
import Sim

let arguments = CommandLine.arguments
let envs = arguments.count > 1 ? Int(arguments[1])! : 64
let threads = arguments.count > 2 ? Int(arguments[2])! : 2
let steps = arguments.count > 3 ? Int(arguments[3])! : 50

func seconds(_ body: () throws -> Void) rethrows -> Double {
  let start = DispatchTime.now().uptimeNanoseconds
  try body()
  return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func makeEnv(size: Int, renderer: RendererKind, count: Int = envs) throws -> TabletopEnv {
  var config = TabletopConfig()
  config.numEnvs = count
  config.imageSize = size
  config.threads = threads
  config.renderer = renderer
  return try TabletopEnv(config: config)
}

var rng = SystemRandomNumberGenerator()
let actions = (0..<(envs * 7 * 8)).map { _ in Float.random(in: -1...1, using: &rng) }
func randomActions(_ step: Int) -> ArraySlice<Float> {
  let row = envs * 7
  let start = (step % 8) * row
  return actions[start..<(start + row)]
}

/// Steps/s of full steps, and seconds per render of the whole batch.
func measure(_ env: TabletopEnv) throws -> (stepsPerSecond: Double, renderSeconds: Double) {
  for s in 0..<5 { try env.step(Array(randomActions(s))) }
  let total = try seconds { for s in 0..<steps { try env.step(Array(randomActions(s))) } }
  let renders = max(5, steps / 5)
  let render = try seconds { for _ in 0..<renders { try env.rerender() } } / Double(renders)
  return (Double(envs * steps) / total, render)
}

let physics = try measure(makeEnv(size: 64, renderer: .none))
print("physics_steps_per_s \(physics.stepsPerSecond)")
for size in [64, 128] {
  for renderer in [RendererKind.cpu, .vulkan] {
    let env = try makeEnv(size: size, renderer: renderer)
    let result = try measure(env)
    print("steps_per_s_\(renderer.rawValue)_\(size) \(result.stepsPerSecond)")
    print("render_ms_\(renderer.rawValue)_\(size) \(result.renderSeconds * 1000)")
    if size == 64 { print("renderer_name_\(renderer.rawValue) \(env.rendererName.replacingOccurrences(of: " ", with: "_"))") }
  }
}

// Resident memory per environment at 64x64: the slope between two batch sizes.
func residentBytes() -> Double {
  let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? "0 0"
  return Double(statm.split(separator: " ")[1])! * Double(sysconf(Int32(_SC_PAGESIZE)))
}
let small = try makeEnv(size: 64, renderer: .cpu, count: 64)
try small.step([Float](repeating: 0, count: 64 * 7))
let before = residentBytes()
let large = try makeEnv(size: 64, renderer: .cpu, count: 1088)
try large.step([Float](repeating: 0, count: 1088 * 7))
let after = residentBytes()
print("memory_per_env_mb \((after - before) / 1088 / 1e6)")
withExtendedLifetime((small, large)) {}
