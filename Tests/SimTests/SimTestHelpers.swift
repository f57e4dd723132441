@testable import Sim

/// A batch with the given tasks (one environment each unless `numEnvs` says otherwise).
func makeEnv(
  _ tasks: [String], numEnvs: Int? = nil, split: Split = .inDistribution, size: Int = 64, threads: Int = 1,
  seed: UInt64 = 0, autoReset: Bool = true, configure: (inout TabletopConfig) -> Void = { _ in }
) throws -> TabletopEnv {
  var config = TabletopConfig()
  config.tasks = tasks
  config.numEnvs = numEnvs ?? tasks.count
  config.split = split
  config.imageSize = size
  config.threads = threads
  config.seed = seed
  config.autoReset = autoReset
  configure(&config)
  return try TabletopEnv(config: config)
}

/// Seeded uniform actions in [-1, 1], [N, 7].
struct RandomActions {
  var rng: SplitMix
  init(seed: UInt64) { rng = SplitMix(seed: seed) }
  mutating func next(_ envs: Int) -> [Float] {
    (0..<(envs * 7)).map { _ in Float(rng.uniform(-1...1)) }
  }
}

/// Runs the expert until every environment's first episode ended; returns success per env.
func runExpertEpisodes(_ env: TabletopEnv) throws -> [Bool] {
  let expert = ScriptedExpert(env: env)
  var outcome = [Bool?](repeating: nil, count: env.numEnvs)
  while outcome.contains(where: { $0 == nil }) {
    try env.step(expert.actions())
    for summary in env.drainEpisodes() where outcome[summary.env] == nil {
      outcome[summary.env] = summary.successOnce
    }
  }
  return outcome.map { $0! }
}
