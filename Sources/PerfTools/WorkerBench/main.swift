// bench-workers-swift: env steps/s of a benchmark simulator through the worker bridge (shared
// memory + control socket), with W workers stepped concurrently. The Swift half of
// tools/bench-workers, which runs the same simulator directly in Python next to it.
import Dispatch
import Foundation
import Sim

let arguments = CommandLine.arguments
guard arguments.count == 8, let size = Int(arguments[4]), let steps = Int(arguments[5]), let workers = Int(arguments[6]) else {
  print("usage: bench-workers-swift PYTHON BACKEND TASK IMAGE_SIZE STEPS WORKERS SCRIPT")
  exit(2)
}
let (python, backend, task, script) = (arguments[1], arguments[2], arguments[3], arguments[7])

final class Box: @unchecked Sendable { var envs: [WorkerEnvironment] = [] }
let box = Box()
for w in 0..<workers {
  var spec = WorkerSpec(python: python, script: script, backend: backend, task: task, numEnvs: 1, imageSize: size)
  spec.seed = UInt64(w)
  box.envs.append(try WorkerEnvironment(spec: spec))
}

/// Steps every worker's environment `count` times, each worker on its own thread.
func run(_ count: Int) {
  DispatchQueue.concurrentPerform(iterations: workers) { w in
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<count {
      let actions = (0..<7).map { _ in Float.random(in: -0.2...0.2, using: &rng) }
      _ = try! actions.withUnsafeBufferPointer { try box.envs[w].stepChunk($0, chunk: 1) }
    }
  }
}

run(5)  // warm-up
let start = DispatchTime.now().uptimeNanoseconds
run(steps)
let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
print(String(format: "bridge_steps_per_s %.2f", Double(steps * workers) / seconds))
for env in box.envs where !env.failures.isEmpty { print("failures: \(env.failures)") }
