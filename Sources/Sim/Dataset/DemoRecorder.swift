/// Records scripted-expert demonstrations: batches of single episodes (one per environment, reset
/// by state id), keeping the successful ones.
///
/// With `actionNoise` > 0 the executed arm motion is the expert's plus Gaussian noise of that
/// standard deviation (action units), while the recorded label stays the expert's clean action
/// (DART, Laskey et al. 2017): the data then shows how to recover from the small errors a cloned
/// policy makes in closed loop, which plain demonstrations never visit.
///
/// With `randomizeAppearance` the scenes vary as the RL job's do (`TabletopConfig.randomizeAppearance`).
///
/// With `confusableFraction` > 0 that share of each task's episodes draws its distractors from
/// the other recorded tasks' target colours (`TabletopConfig.distractorColors`): a scene then
/// holds, say, a green cube and a blue can beside the red cube asked for, and only the
/// instruction says which to take. In the split's own scenes such confusers are rarer, and a
/// cloned policy learns to take any object of a target colour.
public enum DemoRecorder {
  /// Runs `episodesPerTask` expert episodes of every task and returns the successful ones.
  /// `progress` receives one line per batch.
  public static func record(
    tasks: [String], episodesPerTask: Int, split: Split = .inDistribution, imageSize: Int = 64,
    wristCamera: Bool = false, randomizeAppearance: Bool = false, maxDistractors: Int = 2, startSpread: Double = 0.04, actionNoise: Double = 0, confusableFraction: Double = 0, seed: UInt64 = 0, threads: Int = 1,
    batchSize: Int = 32, progress: (String) -> Void = { _ in }
  ) throws -> DemoDataset {
    let specs = try tasks.map(TaskCatalog.named)
    let confusable = Int((confusableFraction * Double(episodesPerTask)).rounded())
    let targetColors = Array(Set(specs.map(\.targetColor.name))).sorted()
    // Plain episodes first, then the confusable ones, each batched on their own.
    let jobs = [false, true].flatMap { confused in
      specs.indices.flatMap { task in (0..<episodesPerTask).filter { ($0 < confusable) == confused }.map { (task: task, episode: $0, confused: confused) } }
    }
    var dataset = DemoDataset(imageSize: imageSize)
    dataset.tasks = specs.map { ($0.name, $0.instruction) }
    dataset.split = split
    dataset.seed = seed
    if wristCamera { dataset.wristRGB = [] }
    let pixels = imageSize * imageSize * 3
    var noise = SplitMix(seed: SplitMix.mix(seed, 0x4441_5254))

    let batches = [false, true].flatMap { confused in
      let part = jobs.filter { $0.confused == confused }
      return stride(from: 0, to: part.count, by: batchSize).map { Array(part[$0..<min($0 + batchSize, part.count)]) }
    }
    for batch in batches {
      var config = TabletopConfig()
      if batch[0].confused { config.distractorColors = targetColors }
      config.tasks = batch.map { specs[$0.task].name }
      config.numEnvs = batch.count
      config.split = split
      config.imageSize = imageSize
      config.wristCamera = wristCamera
      config.randomizeAppearance = randomizeAppearance
      config.maxDistractors = maxDistractors
      config.startSpread = startSpread
      config.threads = threads
      config.seed = seed
      config.autoReset = false
      let env = try TabletopEnv(config: config)
      try env.reset(stateIDs: batch.map { $0.task * 1_000_003 + $0.episode })
      let expert = ScriptedExpert(env: env)

      // Per environment: its recorded steps until done.
      var frames = [[UInt8]](repeating: [], count: batch.count)
      var wrist = [[UInt8]](repeating: [], count: batch.count)
      var states = [[Float]](repeating: [], count: batch.count)
      var actions = [[Float]](repeating: [], count: batch.count)
      var done = [Bool](repeating: false, count: batch.count)
      var succeeded = [Bool](repeating: false, count: batch.count)
      while done.contains(false) {
        var step = expert.actions()
        for i in batch.indices {
          if done[i] {
            for d in 0..<TabletopEnv.actionSize { step[i * 7 + d] = 0 }
            continue
          }
          frames[i] += env.rgb[(i * pixels)..<((i + 1) * pixels)]
          if let w = env.wristRGB { wrist[i] += w[(i * pixels)..<((i + 1) * pixels)] }
          states[i] += env.state[(i * TabletopEnv.stateSize)..<((i + 1) * TabletopEnv.stateSize)]
          actions[i] += step[(i * 7)..<((i + 1) * 7)]
        }
        if actionNoise > 0 {
          // Arm dimensions only: the jaw command stays the expert's.
          for i in batch.indices where !done[i] {
            for d in 0..<6 { step[i * 7 + d] = max(-1, min(1, step[i * 7 + d] + Float(actionNoise * noise.gaussian()))) }
          }
        }
        try env.step(step)
        for i in batch.indices where !done[i] && (env.terminated[i] || env.truncated[i]) {
          done[i] = true
          succeeded[i] = env.successOnce(i)
        }
      }
      for i in batch.indices where succeeded[i] {
        let steps = actions[i].count / TabletopEnv.actionSize
        dataset.rgb += frames[i]
        dataset.wristRGB? += wrist[i]
        dataset.state += states[i]
        dataset.action += actions[i]
        dataset.episodeIndex += Array(repeating: Int32(dataset.episodes), count: steps)
        dataset.stepIndex += (0..<steps).map(Int32.init)
        dataset.taskIndex += Array(repeating: Int32(batch[i].task), count: steps)
        dataset.episodes += 1
      }
      dataset.attempted += batch.count
      progress("episodes \(dataset.attempted)/\(jobs.count): \(dataset.episodes) successful, \(dataset.steps) steps")
    }
    return dataset
  }
}
