import Foundation
import RL
import Testing
import TestSupport
import Torch

@Suite struct FormulaTests {
  func close(_ a: Tensor, _ b: [Float], _ tolerance: Float = 1e-5) throws -> Bool {
    let x = try a.floats()
    return x.count == b.count && zip(x, b).allSatisfy { Swift.abs($0 - $1) <= tolerance }
  }

  /// GAE by hand: two steps, one environment, the episode ends after step 0.
  @Test func gaeByHand() throws {
    let rewards = try Tensor([Float(1), 2], shape: [2, 1])
    let values = try Tensor([Float(0.5), 0.25, 4], shape: [3, 1])
    let dones = try Tensor([false, true, false], shape: [3, 1])
    let (adv, ret) = try Advantages.gae(rewards: rewards, values: values, dones: dones, gamma: 0.9, lambda: 0.8)
    // t = 1: delta = 2 + 0.9 * 4 - 0.25 = 5.35, A1 = 5.35.
    // t = 0: the episode ended (dones[1]): delta = 1 - 0.5 = 0.5, A0 = 0.5 (no carry).
    #expect(try close(adv, [0.5, 5.35]))
    #expect(try close(ret, [1.0, 5.6]))
  }

  @Test func bootstrapByHand() throws {
    let rewards = try Tensor([Float(1), 1, 1], shape: [3, 1])
    let finals = try Tensor([Float(10), 20, 30], shape: [3, 1])
    let terminated = try Tensor([false, true, false], shape: [3, 1])
    let truncated = try Tensor([false, false, true], shape: [3, 1])
    let standard = try Advantages.bootstrap(rewards: rewards, finalValues: finals, terminated: terminated, truncated: truncated, gamma: 0.5, type: .standard)
    let always = try Advantages.bootstrap(rewards: rewards, finalValues: finals, terminated: terminated, truncated: truncated, gamma: 0.5, type: .always)
    #expect(try close(standard, [1, 1, 16]))
    #expect(try close(always, [1, 11, 16]))
  }

  @Test func ppoClipBranchesByHand() throws {
    // ratio e^0.5 = 1.65 with A > 0: clipped at 1.28; ratio e^-1 = 0.37 with A < 0: clipped at 0.8;
    // ratio e^2 = 7.39 with A < 0: dual clip at -3 A; ratio 1: unclipped.
    let logp = try Tensor([Float(0.5), -1, 2, 0])
    let old = try Tensor([Float(0), 0, 0, 0])
    let adv = try Tensor([Float(1), -1, -1, 2])
    let result = try Losses.policy(logProbs: logp, oldLogProbs: old, advantages: adv, clipLow: 0.2, clipHigh: 0.28, clipC: 3)
    #expect(try close(result.loss, [-1.28, 0.8, 3, -2], 1e-4))
    #expect(try result.clipped.scalars(as: Bool.self) == [true, true, false, false])
    #expect(try result.dualClipped.scalars(as: Bool.self) == [false, false, true, false])
  }

  /// Every formula against the independent numpy reference on random data.
  @Test func matchesNumpyReference() throws {
    let dir = try temporaryDirectory("rl-formulas")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let g = try Generator(seed: 5)
    let (t, b) = (12, 8)
    let rewards = try Tensor.rand([t, b], generator: g).gt(0.7).to(dtype: .float32)
    let values = try Tensor.randn([t + 1, b], generator: g)
    let dones = try Tensor.rand([t + 1, b], generator: g).gt(0.85)
    let logp = try Tensor.randn([50], generator: g) * 0.5 - 1
    let oldLogp = try Tensor.randn([50], generator: g) * 0.5 - 1
    let adv = try Tensor.randn([50], generator: g)
    let v = try Tensor.randn([50], generator: g) * 5, oldV = try Tensor.randn([50], generator: g) * 5, ret = try Tensor.randn([50], generator: g) * 5
    try SafeTensorsWriter.write(
      ["rewards": rewards, "values": values, "dones": dones, "logp": logp, "old_logp": oldLogp, "adv": adv, "v": v, "old_v": oldV, "ret": ret],
      to: dir + "/in.safetensors")
    let params: [String: Any] = [
      "gamma": 0.99, "lambda": 0.95, "group_size": 4, "lower": 0.5, "upper": 2.5, "clip_low": 0.2, "clip_high": 0.28,
      "clip_c": 3.0, "value_clip": 0.2, "huber_delta": 10.0,
    ]
    try JSONSerialization.data(withJSONObject: params).write(to: URL(fileURLWithPath: dir + "/params.json"))
    try runPython(repositoryRoot + "/Tests/RLTests/Reference/rl_reference.py", [dir])
    let reference = try SafeTensorsFile(path: dir + "/out.safetensors")
    func expectClose(_ swift: Tensor, _ name: String, _ tolerance: Double = 1e-4) throws {
      let diff = try (swift.to(dtype: .float64) - reference.tensor(name).to(dtype: .float64)).abs().max().item()
      #expect(diff < tolerance, "\(name) differs by \(diff)")
    }
    let (gaeAdv, gaeRet) = try Advantages.gae(rewards: rewards, values: values, dones: dones, gamma: 0.99, lambda: 0.95)
    try expectClose(gaeAdv, "gae_adv")
    try expectClose(gaeRet, "gae_ret")
    let grpo = try Advantages.grpo(rewards: rewards, dones: dones, groupSize: 4)
    let kept = try Advantages.successFilter(rewards: rewards, mask: grpo.lossMask, groupSize: 4, lower: 0.5, upper: 2.5)
    try expectClose(grpo.advantages * kept.to(dtype: .float32), "grpo_adv")
    try expectClose(kept.to(dtype: .float32), "grpo_mask")
    try expectClose(grpo.scores, "grpo_scores")
    let policy = try Losses.policy(logProbs: logp, oldLogProbs: oldLogp, advantages: adv, clipLow: 0.2, clipHigh: 0.28, clipC: 3)
    try expectClose(policy.loss, "ppo_loss")
    try expectClose(policy.ratio, "ppo_ratio")
    try expectClose(Losses.value(values: v, oldValues: oldV, returns: ret, valueClip: 0.2, huberDelta: 10).loss, "value_loss")
  }

  @Test func normalizationAndMasks() throws {
    let x = try Tensor([Float(1), 2, 3, 100])
    let mask = try Tensor([true, true, true, false])
    let normalized = try Advantages.normalize(x, mask: mask)
    let values = try normalized.floats()
    // Statistics of the kept 1, 2, 3: mean 2, unbiased std 1; every entry is normalised.
    #expect(Swift.abs(values[0] + values[2]) < 1e-5 && Swift.abs(values[1]) < 1e-6)
    #expect(Swift.abs(values[2] - 1 / 1.00001) < 1e-5)
    #expect(Swift.abs(values[3] - 98 / 1.00001) < 1e-3)
    let dones = try Tensor([false, false, true, false, false, false], shape: [3, 2])
    // dones[1] ends env 0's episode after step 0; env 1 never ends.
    #expect(try Advantages.firstEpisodeMask(dones: dones).scalars(as: Bool.self) == [true, true, false, true])
    #expect(throws: TorchError.self) { try Advantages.grpo(rewards: Tensor.zeros([2, 6]), dones: Tensor.zeros([3, 6], dtype: .bool), groupSize: 4) }
    let lengthNormalized = try Losses.lengthNormalizedMean(
      Tensor([Float(1), 1], shape: [1, 2]), mask: Tensor([true, true], shape: [1, 2]), lengths: Tensor([Float(5), 10], shape: [1, 2]), maxEpisodeSteps: 10)
    #expect(Swift.abs(try lengthNormalized.item() - 1.5) < 1e-6)  // (1/0.5 + 1/1) / 2
  }
}
