import Config
import Foundation
import Models
import RL
import Testing
import TestSupport
import Torch

/// The rollout buffer, window advantages at every granularity, and the granularity shapes.
@Suite struct RolloutWindowTests {
  /// A buffer filled with random rewards, values and episode ends (no policy involved).
  static func randomWindow(steps t: Int, envs b: Int, chunk k: Int, valueOutputs: Int, seed: UInt64) throws -> RolloutBuffer {
    let buffer = try RolloutBuffer(steps: t, envs: b, chunk: k, imageSize: 4, stateSize: 0, valueOutputs: valueOutputs)
    let g = try Generator(seed: seed)
    try buffer.rewards.copyFrom(Tensor.rand([t, b, k], generator: g).gt(0.6))
    try buffer.values.copyFrom(Tensor.randn([t + 1, b, valueOutputs], generator: g))
    try buffer.finalValues.copyFrom(Tensor.randn([t, b, valueOutputs], generator: g))
    let ends = try Tensor.rand([t, b], generator: g)
    try buffer.terminated.copyFrom(ends.gt(0.85))
    try buffer.truncated.copyFrom(ends.lt(0.1))
    return buffer
  }

  @Test func windowAdvantagesMatchNumpyReference() throws {
    let dir = try temporaryDirectory("rl-window")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (t, b, k) = (9, 5, 3)
    let chunk = try Self.randomWindow(steps: t, envs: b, chunk: k, valueOutputs: 1, seed: 11)
    let action = try Self.randomWindow(steps: t, envs: b, chunk: k, valueOutputs: k, seed: 11)
    // The same rewards and ends in both; only the critic's shape differs.
    try action.rewards.copyFrom(chunk.rewards)
    try action.terminated.copyFrom(chunk.terminated)
    try action.truncated.copyFrom(chunk.truncated)
    try SafeTensorsWriter.write(
      ["rewards": chunk.rewards, "terminated": chunk.terminated.to(dtype: .uint8), "truncated": chunk.truncated.to(dtype: .uint8),
       "chunk_values": chunk.values, "chunk_final": chunk.finalValues, "action_values": action.values, "action_final": action.finalValues],
      to: dir + "/in.safetensors")
    try JSONSerialization.data(withJSONObject: ["gamma": 0.97, "lambda": 0.9]).write(to: URL(fileURLWithPath: dir + "/params.json"))
    try runPython(repositoryRoot + "/Tests/RLTests/Reference/rollout_reference.py", [dir])
    let reference = try SafeTensorsFile(path: dir + "/out.safetensors")
    func expectClose(_ swift: Tensor, _ name: String) throws {
      let diff = try (swift.to(dtype: .float64) - reference.tensor(name).to(dtype: .float64)).abs().max().item()
      #expect(diff < 1e-4, "\(name) differs by \(diff)")
    }
    for level in [Granularity.chunkLevel, .actionLevel] {
      for bootstrap in BootstrapType.allCases {
        var a = AlgorithmConfig()
        a.gamma = 0.97
        a.gaeLambda = 0.9
        a.rewardType = level
        a.bootstrapType = bootstrap
        let window = level == .chunkLevel ? chunk : action
        let estimate = try RolloutAdvantages(buffer: window, algorithm: a, autoReset: true)
        let name = "\(level == .chunkLevel ? "chunk" : "action")_\(bootstrap.rawValue)"
        #expect(estimate.advantages.shape == [t * b, level == .chunkLevel ? 1 : k])
        try expectClose(estimate.advantages, name + "_adv")
        try expectClose(estimate.returns!, name + "_ret")
        try expectClose(estimate.lengths, "lengths")
        #expect(try estimate.mask.all().item() == 1, "partial reset: every step counts")
      }
    }
  }

  /// Without partial reset the steps after the first episode's end are masked out.
  @Test func fixedEpisodeWindowsMaskAfterTheEnd() throws {
    let buffer = try RolloutBuffer(steps: 4, envs: 2, chunk: 1, imageSize: 4, stateSize: 0, valueOutputs: 1)
    try buffer.terminated.copyFrom(Tensor([Float(0), 0, 1, 0, 0, 0, 0, 0], shape: [4, 2]))  // env 0 ends with step 1
    let estimate = try RolloutAdvantages(buffer: buffer, algorithm: AlgorithmConfig(), autoReset: false)
    #expect(try estimate.mask.scalars(as: Bool.self) == [true, true, true, true, false, true, false, true])
    #expect(try estimate.lengths.scalars(as: Float.self) == [2, 4, 2, 4, 2, 4, 2, 4])
  }

  /// GRPO over a window: groups of environments, success filter, reward_coef.
  @Test func grpoWindowByHand() throws {
    let buffer = try RolloutBuffer(steps: 2, envs: 4, chunk: 2, imageSize: 4, stateSize: 0, valueOutputs: 0)
    // Env scores (sum over the first episode): 1, 0 | 1, 1.
    try buffer.rewards.copyFrom(Tensor([Float(0), 1, 0, 0, 1, 0, 0, 0, /* step 1 */ 0, 0, 0, 0, 0, 0, 1, 0], shape: [2, 4, 2]))
    var a = AlgorithmConfig()
    a.advType = .grpo
    a.groupSize = 2
    a.rewardCoef = 5
    let plain = try RolloutAdvantages(buffer: buffer, algorithm: a, autoReset: false)
    let adv = try plain.advantages.scalars(as: Float.self)  // [N = 8, 1], n = t * 4 + b
    // Group 0: scores 5, 0 -> mean 2.5, std (unbiased) 3.536 -> +-0.7071; group 1: equal -> 0.
    #expect(Swift.abs(adv[0] - 0.70710) < 1e-3 && Swift.abs(adv[1] + 0.70710) < 1e-3)
    #expect(adv[2] == 0 && adv[3] == 0)
    a.filterRewards = true
    a.rewardsLowerBound = 0.5
    a.rewardsUpperBound = 4.5
    let filtered = try RolloutAdvantages(buffer: buffer, algorithm: a, autoReset: false)
    // Group 1 (all succeeded, mean 5) is dropped.
    #expect(try filtered.mask.scalars(as: Bool.self) == [true, true, false, false, true, true, false, false])
    #expect(filtered.metrics["rollout/kept_trajectories"] == 0.5)
  }

  @Test func granularityShapes() throws {
    let tokens = try Tensor((0..<(2 * 3 * 7)).map { Float($0) }, shape: [2, 3, 7])
    #expect(try GranularityShapes.reduce(tokens, to: .tokenLevel).shape == [2, 3, 7])
    let actions = try GranularityShapes.reduce(tokens, to: .actionLevel)
    #expect(try actions.scalars(as: Float.self)[0] == (0..<7).reduce(0) { $0 + Float($1) })
    let chunks = try GranularityShapes.reduce(tokens, to: .chunkLevel)
    #expect(chunks.shape == [2, 1])
    #expect(try chunks.scalars(as: Float.self)[1] == (21..<42).reduce(0) { $0 + Float($1) })
    // Per-action advantages reach every token of their action.
    let perAction = try Tensor([Float(1), 2, 3, 4, 5, 6], shape: [2, 3])
    let spread = try GranularityShapes.broadcast(perAction, to: .tokenLevel, chunk: 3)
    #expect(spread.shape == [2, 3, 7])
    #expect(try spread.select(dim: 0, index: 1).select(dim: 0, index: 2).scalars(as: Float.self) == Array(repeating: 6, count: 7))
    #expect(throws: TorchError.self) { try GranularityShapes.broadcast(perAction, to: .chunkLevel, chunk: 3) }
    let mask = try GranularityShapes.mask(Tensor([true, false]), to: .actionLevel, chunk: 3)
    #expect(try mask.scalars(as: Bool.self) == [true, true, true, false, false, false])
  }

  @Test func bufferRejectsBadSteps() throws {
    let buffer = try RolloutBuffer(steps: 2, envs: 3, chunk: 1, imageSize: 4, stateSize: 0, valueOutputs: 1)
    #expect(throws: TorchError.self) { try buffer.recordEnvironment(step: 2, rewards: [0, 0, 0], terminated: [false, false, false], truncated: [false, false, false]) }
    #expect(throws: TorchError.self) { try buffer.recordEnvironment(step: 0, rewards: [0, 0], terminated: [false, false, false], truncated: [false, false, false]) }
    try buffer.recordEnvironment(step: 1, rewards: [1, 0, 2], terminated: [false, true, false], truncated: [true, false, false])
    #expect(try buffer.dones().scalars(as: Bool.self) == [false, false, false, false, false, false, true, true, false])
  }
}
