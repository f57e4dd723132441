import Config
import Dispatch
import Foundation
import Pipeline
import Sim
import Staging

/// The measurements of bench-rl that run on stage threads.
enum Measurements {
  /// Wall seconds of `body` and the cores the process kept busy meanwhile (CPU time / wall time).
  static func busy(_ body: () throws -> Void) rethrows -> (wall: Double, cores: Double) {
    func cpu() -> Double {
      var t = timespec()
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
      return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
    let start = DispatchTime.now().uptimeNanoseconds, startCPU = cpu()
    try body()
    let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return (wall, (cpu() - startCPU) / wall)
  }

  /// Env steps/s of the job's training simulators stepping random chunks alone, one sub-batch
  /// after another on a thread with the env stage's cores and threads (the rollout's ceiling).
  static func simulatorAlone(_ config: TrainingConfig, placement: Placement) throws -> Double {
    var simulator = try RolloutCollector.simulatorConfig(config.env.train, imageSize: 64, groupSize: 1)
    simulator.numEnvs = config.env.train.totalNumEnvs / placement.subBatches
    simulator.tasks = Array(simulator.tasks.prefix(simulator.numEnvs))
    let resources = placement.mode == .collocated ? placement.rollout : placement.env
    simulator.threads = resources.threads
    let k = config.actor.model.numActionChunks, chunkSteps = config.env.train.maxStepsPerRolloutEpoch / k, parts = placement.subBatches
    let thread = try StageThread(name: "bench-env", resources: resources)
    defer { thread.stop() }
    return try thread.run { [simulator] () -> Double in
      let envs = try (0..<parts).map { _ in try TabletopEnv(config: simulator) }
      var random = SplitMix(seed: 7)
      let actions = (0..<(simulator.numEnvs * k * 7)).map { _ in Float.random(in: -1...1, using: &random) }
      let time = try busy { for _ in 0..<chunkSteps { for env in envs { _ = try env.stepChunk(actions, chunk: k) } } }
      return Double(parts * simulator.numEnvs * chunkSteps * k) / time.wall
    }
  }

  /// One evaluation of `config.env.eval` by a fresh job of `config`, on the actor's resources.
  static func evaluation(_ config: TrainingConfig, placement: Placement) throws -> (wall: Double, cores: Double) {
    let job = try RLRun(config: config)
    let thread = try StageThread(name: "bench-actor", resources: placement.actor)
    defer { thread.stop() }
    return try thread.run { try busy { _ = try job.evaluate(config.env.eval) } }
  }
}
