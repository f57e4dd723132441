// rlinf-sim: look at and use the embedded tabletop simulator from the command line.
import ArgumentParser
import CSys
import Foundation

import Sim

@main
struct RlinfSim: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rlinf-sim",
    abstract: "The embedded tabletop simulator: tasks, pictures, expert episodes, demonstrations.",
    subcommands: [Tasks.self, Grid.self, ExpertGIF.self, Demos.self])
}

extension Split: ExpressibleByArgument {}

/// Task names from a comma-separated list, or every task of the split for "all".
func taskNames(_ list: String, split: Split) throws -> [String] {
  let names = list == "all" ? split.defaultTasks.map(\.name) : list.split(separator: ",").map(String.init)
  for name in names { _ = try TaskCatalog.named(name) }
  return names
}

struct Tasks: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "List the tasks of a split with their instructions.")
  @Option(help: "train, vision, semantic or execution.") var split: Split = .inDistribution

  func run() throws {
    let tasks = split.defaultTasks
    let width = tasks.map(\.name.count).max() ?? 0
    print("\(tasks.count) tasks (\(split.rawValue) split)")
    for task in tasks {
      print("\(task.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(String(task.maxEpisodeSteps).padding(toLength: 4, withPad: " ", startingAt: 0)) \(task.instruction)")
    }
  }
}

struct Grid: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Write a PNG grid of initial observations.")
  @Option(help: "Comma-separated task names, or all.") var tasks = "all"
  @Option(help: "train, vision, semantic or execution.") var split: Split = .inDistribution
  @Option(help: "Image side in pixels (64-224).") var size = 64
  @Option(help: "Number of environments (tiles).") var count = 16
  @Option(help: "Base seed.") var seed: UInt64 = 0
  @Flag(help: "Show the wrist camera next to each view.") var wrist = false
  @Option(help: "Output PNG path.") var out = "grid.png"

  func run() throws {
    var config = TabletopConfig()
    config.tasks = try taskNames(tasks, split: split)
    config.numEnvs = count
    config.split = split
    config.imageSize = size
    config.wristCamera = wrist
    config.seed = seed
    let env = try TabletopEnv(config: config)
    let columns = Int(Double(count).squareRoot().rounded(.up))
    let rows = (count + columns - 1) / columns
    let tileWidth = wrist ? 2 * size : size
    var canvas = [UInt8](repeating: 255, count: rows * size * columns * tileWidth * 3)
    let rowBytes = columns * tileWidth * 3
    for i in 0..<count {
      let (r, c) = (i / columns, i % columns)
      for y in 0..<size {
        let source = (i * size + y) * size * 3
        let target = (r * size + y) * rowBytes + c * tileWidth * 3
        for x in 0..<(size * 3) { canvas[target + x] = env.rgb[source + x] }
        if let w = env.wristRGB { for x in 0..<(size * 3) { canvas[target + size * 3 + x] = w[source + x] } }
      }
    }
    try canvas.withUnsafeBytes { try PNGWriter.write(width: columns * tileWidth, height: rows * size, pixels: $0, to: out) }
    print("wrote \(out): \(count) environments, \(columns)x\(rows) tiles of \(tileWidth)x\(size)")
    for (i, instruction) in env.instructions.enumerated().prefix(count) { print("  \(i): \(instruction)") }
  }
}

struct ExpertGIF: ParsableCommand {
  static let configuration = CommandConfiguration(commandName: "expert-gif", abstract: "Write an animated GIF of one expert episode.")
  @Option(help: "Task name.") var task = "stack-red-cube-blue-cube"
  @Option(help: "train, vision, semantic or execution.") var split: Split = .inDistribution
  @Option(help: "Image side in pixels (64-224).") var size = 128
  @Option(help: "Episode seed (reset-state id).") var seed = 0
  @Flag(help: "Show the wrist camera next to the third-person view.") var wrist = false
  @Option(help: "Output GIF path.") var out = "episode.gif"

  func run() throws {
    var config = TabletopConfig()
    config.tasks = [task]
    config.numEnvs = 1
    config.split = split
    config.imageSize = size
    config.wristCamera = wrist
    config.autoReset = false
    let env = try TabletopEnv(config: config)
    try env.reset(stateIDs: [seed])
    let expert = ScriptedExpert(env: env)
    var film = EnvFilm(env: env, environments: 1)
    film.capture()
    var steps = 0
    while !(env.terminated[0] || env.truncated[0]) {
      try env.step(expert.actions())
      film.capture()
      steps += 1
    }
    try film.write(to: out)
    print("wrote \(out): \"\(env.instructions[0])\", \(steps) steps, \(env.successOnce(0) ? "success" : "failure")")
  }
}

struct Demos: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Record expert demonstrations (the SFT dataset).")
  @Option(help: "Comma-separated task names, or all.") var tasks = "all"
  @Option(help: "Expert episodes per task.") var episodes = 10
  @Option(help: "train, vision, semantic or execution.") var split: Split = .inDistribution
  @Option(help: "Image side in pixels (64-224).") var size = 64
  @Flag(help: "Also record the wrist camera.") var wrist = false
  @Option(help: "Base seed.") var seed: UInt64 = 0
  @Option(help: "Worker threads.") var threads = 2
  @Option(help: "Output path (.demos.safetensors).") var out = "demos.demos.safetensors"

  func run() throws {
    csys_line_buffered_stdout()
    let start = Date()
    let dataset = try DemoRecorder.record(
      tasks: try taskNames(tasks, split: split), episodesPerTask: episodes, split: split, imageSize: size,
      wristCamera: wrist, seed: seed, threads: threads) { print($0) }
    try dataset.write(to: out)
    print(String(format: "wrote %@: %d episodes (%d attempted), %d steps in %.1f s", out, dataset.episodes, dataset.attempted, dataset.steps, Date().timeIntervalSince(start)))
  }
}
