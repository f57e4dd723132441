import Foundation
import Sim

// Temporary: measure expert success per task.
var config = TabletopConfig()
config.numEnvs = 30
config.tasks = TaskCatalog.trainTasks.map(\.name)
config.threads = 2
let env = try TabletopEnv(config: config)
let expert = ScriptedExpert(env: env)
var done = [Bool](repeating: false, count: 30)
var ok = [Bool](repeating: false, count: 30)
let start = Date()
for _ in 0..<100 {
  try env.step(expert.actions())
  for s in env.drainEpisodes() where !done[s.env] { done[s.env] = true; ok[s.env] = s.successOnce }
}
for (i, t) in env.tasks.enumerated() { print(t.name, ok[i]) }
print("success", ok.filter { $0 }.count, "of 30 in", Date().timeIntervalSince(start))
