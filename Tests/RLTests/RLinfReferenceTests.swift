import Config
import Foundation
@testable import RL
import Testing
import TestSupport
import Torch

/// RLinf's own code (rlinf 0.3.0: calculate_adv_and_returns, compute_loss_mask,
/// preprocess_embodied_batch, policy_loss) against ours on the same seeded inputs, at every
/// granularity, with episode ends inside the window, loss masks and trajectory-length
/// normalisation. Where the two differ on purpose the test says so and checks the difference is
/// exactly the documented one (docs/rlinf-differences.md).
@Suite struct RLinfReferenceTests {
  static let (t, b, k, n) = (8, 8, 3, 24)
  static let groupSize = 2
  static let (lower, upper) = (0.5, 3.0)

  /// Inputs, RLinf's tensors and RLinf's per-case loss metrics.
  struct Run {
    let chunkWindow: RolloutBuffer, actionWindow: RolloutBuffer
    let inputs: [String: Tensor]
    let reference: SafeTensorsFile
    let losses: [String: [String: Double]]
  }

  static func run() throws -> Run {
    let dir = try temporaryDirectory("rlinf-reference")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // Two windows with the same rewards and episode ends; only the critic's shape differs.
    // Sparse success-like rewards, so some groups succeed never or always.
    let chunkWindow = try RolloutWindowTests.randomWindow(steps: t, envs: b, chunk: k, valueOutputs: 1, seed: 21)
    let actionWindow = try RolloutWindowTests.randomWindow(steps: t, envs: b, chunk: k, valueOutputs: k, seed: 21)
    let g = try Generator(seed: 22)
    try chunkWindow.rewards.copyFrom(Tensor.rand([t, b, k], generator: g).gt(0.85))
    try actionWindow.rewards.copyFrom(chunkWindow.rewards)
    try actionWindow.terminated.copyFrom(chunkWindow.terminated)
    try actionWindow.truncated.copyFrom(chunkWindow.truncated)
    let inputs: [String: Tensor] = [
      "rewards": chunkWindow.rewards, "dones": try chunkWindow.dones().to(dtype: .float32),
      "chunk_values": chunkWindow.values, "action_values": actionWindow.values,
      "logprobs": try Tensor.randn([n, k, 7], generator: g) * 0.3 - 1,
      "old_logprobs": try Tensor.randn([n, k, 7], generator: g) * 0.3 - 1,
      "adv_chunk": try Tensor.randn([n], generator: g), "adv_action": try Tensor.randn([n, k], generator: g),
      "values_chunk": try Tensor.randn([n], generator: g), "values_action": try Tensor.randn([n, k], generator: g),
      "prev_values_chunk": try Tensor.randn([n], generator: g), "prev_values_action": try Tensor.randn([n, k], generator: g),
      "returns_chunk": try Tensor.randn([n], generator: g), "returns_action": try Tensor.randn([n, k], generator: g),
      "sample_mask": try Tensor.rand([n], generator: g).gt(0.3).to(dtype: .float32),
      "sample_length": try (Tensor.rand([n], generator: g) * Double(t)).floor() + 1,
    ]
    try SafeTensorsWriter.write(inputs, to: dir + "/in.safetensors")
    let params: [String: Any] = [
      "gamma": 0.97, "lambda": 0.9, "group_size": groupSize, "lower": lower, "upper": upper, "clip_low": 0.2, "clip_high": 0.28,
      "clip_c": 3.0, "value_clip": 0.2, "huber_delta": 10.0, "window_steps": t,
    ]
    try JSONSerialization.data(withJSONObject: params).write(to: URL(fileURLWithPath: dir + "/params.json"))
    try runProgram(try rlinfPython(), [repositoryRoot + "/Tests/RLTests/Reference/rlinf_reference.py", dir])
    let losses = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/out.json"))) as! [String: [String: Double]]
    // The file's tensors are read into memory before the folder goes.
    let reference = try SafeTensorsFile(path: dir + "/out.safetensors")
    return Run(chunkWindow: chunkWindow, actionWindow: actionWindow, inputs: inputs, reference: reference, losses: losses)
  }

  static func maxDifference(_ a: Tensor, _ b: Tensor) throws -> Double {
    try (a.to(dtype: .float64).reshape([-1]) - b.to(dtype: .float64).reshape([-1])).abs().max().item()
  }

  static func algorithm(_ level: Granularity) -> AlgorithmConfig {
    var a = AlgorithmConfig()
    a.gamma = 0.97
    a.gaeLambda = 0.9
    a.rewardType = level
    a.bootstrapType = .none  // RLinf bootstraps inside its env worker, before the advantages
    a.groupSize = groupSize
    a.rewardsLowerBound = lower
    a.rewardsUpperBound = upper
    return a
  }

  @Test func advantagesMasksAndFiltersMatchRLinf() throws {
    let run = try Self.run()
    let ref = run.reference
    let (t, b, k, n) = (Self.t, Self.b, Self.k, Self.t * Self.b)
    for level in [Granularity.chunkLevel, .actionLevel] {
      let name = level == .chunkLevel ? "chunk" : "action"
      let window = level == .chunkLevel ? run.chunkWindow : run.actionWindow
      // GAE with partial resets (every step counts), RLinf's [T, B, G] laid out step-major as ours [T B, G].
      let estimate = try RolloutAdvantages(buffer: window, algorithm: Self.algorithm(level), autoReset: true)
      #expect(try Self.maxDifference(estimate.advantages, ref.tensor("gae_\(name)_adv")) < 1e-5, "\(name) advantages")
      #expect(try Self.maxDifference(estimate.returns!, ref.tensor("gae_\(name)_ret")) < 1e-5, "\(name) returns")
      // Normalised with the statistics of the first episode (auto_reset false), as PolicyTrainer does.
      let masked = try RolloutAdvantages(buffer: window, algorithm: Self.algorithm(level), autoReset: false)
      let keep = try masked.mask.unsqueeze(1).expand(masked.advantages.shape)
      let normalized = try Advantages.normalize(masked.advantages, mask: keep)
      #expect(try Self.maxDifference(normalized, ref.tensor("gae_\(name)_adv_normalized")) < 1e-4, "\(name) normalised advantages")
    }

    // The first-episode mask; our lengths count chunk steps, RLinf's loss_mask_sum actions.
    let masked = try RolloutAdvantages(buffer: run.chunkWindow, algorithm: Self.algorithm(.chunkLevel), autoReset: false)
    let rlinfMask = try ref.tensor("loss_mask").reshape([n, k])  // [T B, K]
    #expect(try Self.maxDifference(rlinfMask.select(dim: 1, index: 0), masked.mask.to(dtype: .float32)) == 0)
    #expect(try rlinfMask.eq(rlinfMask.select(dim: 1, index: 0).unsqueeze(1)).all().item() == 1, "episodes end on a chunk's last action")
    let sums = try ref.tensor("loss_mask_sum").reshape([n, k]).select(dim: 1, index: 0)
    #expect(try Self.maxDifference(sums.maskedSelect(masked.mask), (masked.lengths * Double(k)).maskedSelect(masked.mask)) == 0)
    #expect(try masked.mask.to(dtype: .float32).mean().item() < 0.9, "some episodes end inside the window")

    // The success filter, for GAE (with and without partial resets) and GRPO, drops the same groups.
    for autoReset in [false, true] {
      var a = Self.algorithm(.chunkLevel)
      a.filterRewards = true
      let filtered = try RolloutAdvantages(buffer: run.chunkWindow, algorithm: a, autoReset: autoReset)
      let expected = try ref.tensor("filter_mask_autoreset_\(autoReset ? 1 : 0)").reshape([n])
      #expect(try Self.maxDifference(filtered.mask.to(dtype: .float32), expected) == 0, "GAE filter, auto_reset \(autoReset)")
      let groups = try expected.reshape([t, b / Self.groupSize, Self.groupSize]).max(dims: [0, 2])  // kept groups
      #expect(try groups.sum().item() > 0 && groups.sum().item() < Double(b / Self.groupSize), "the filter keeps some groups and drops others")
    }
    var grpo = Self.algorithm(.chunkLevel)
    grpo.advType = .grpo
    let plain = try RolloutAdvantages(buffer: run.chunkWindow, algorithm: grpo, autoReset: false)
    #expect(try Self.maxDifference(plain.advantages, ref.tensor("grpo_adv")) < 1e-5)
    grpo.filterRewards = true
    let filtered = try RolloutAdvantages(buffer: run.chunkWindow, algorithm: grpo, autoReset: false)
    #expect(try Self.maxDifference(filtered.advantages, ref.tensor("grpo_filtered_adv")) < 1e-5)
    #expect(try Self.maxDifference(filtered.mask.to(dtype: .float32), ref.tensor("filter_mask_autoreset_0")) == 0)
  }

  /// Our micro-batch loss on the same samples as RLinf's policy_loss.
  static func ours(_ run: Run, reward: Granularity, logprob: Granularity, masking: String) throws -> (Tensor, [String: Double]) {
    let (k, n) = (Self.k, Self.n)
    let kind = reward == .chunkLevel ? "chunk" : "action"
    func perSample(_ name: String) throws -> Tensor {  // [N] -> [N, 1]; [N, K] stays
      let x = run.inputs["\(name)_\(kind)"]!
      return x.rank == 1 ? try x.unsqueeze(1) : x
    }
    let mask = masking == "none" ? try Tensor.ones([n], dtype: .bool) : try run.inputs["sample_mask"]!.gt(0.5)
    var samples = PPOSamples(
      oldLogProbs: try GranularityShapes.reduce(run.inputs["old_logprobs"]!, to: logprob),
      advantages: try GranularityShapes.broadcast(perSample("adv"), to: logprob, chunk: k),
      mask: try GranularityShapes.mask(mask, to: logprob, chunk: k),
      returns: try perSample("returns"), oldValues: try perSample("prev_values"))
    var config = PPOUpdateConfig()
    config.clipRatioLow = 0.2
    config.clipRatioHigh = 0.28
    config.clipRatioC = 3
    config.valueClip = 0.2
    config.huberDelta = 10
    if masking == "length" {
      samples.lengths = run.inputs["sample_length"]!
      config.lengthScale = Self.t
    }
    let logProbs = try GranularityShapes.reduce(run.inputs["logprobs"]!, to: logprob)
    let values = try perSample("values")
    return try PPOUpdate.microBatchLoss(samples, rows: Array(0..<n), config: config) { _ in
      Recomputed(logProbs: logProbs, entropy: try logProbs.zerosLike(), values: values)
    }
  }

  @Test func lossesAndMetricsMatchRLinf() throws {
    let run = try Self.run()
    let k = Double(Self.k)
    #expect(run.losses.count == 15)
    for (key, rlinf) in run.losses.sorted(by: { $0.key < $1.key }) {
      let fields = key.split(separator: "/").map(String.init)
      let reward = Granularity(rawValue: fields[0])!, logprob = Granularity(rawValue: fields[1])!, masking = fields[2]
      let (loss, ours) = try Self.ours(run, reward: reward, logprob: logprob, masking: masking)
      // Deliberate difference: where RLinf's loss mask is coarser than the loss (a per-sample
      // mask under per-token log-probs, a per-chunk one under per-action log-probs), its masked
      // sums are divided by the number of mask entries, not of loss entries, so they come out
      // `coarse` times the mean. Ours is the mean. Without a mask, or with trajectory-length
      // normalisation (a plain mean over every entry), the losses agree.
      let lossEntries: Double = logprob == .tokenLevel ? 7 * k : logprob == .actionLevel ? k : 1
      let maskEntries: Double = reward == .actionLevel ? k : 1
      let coarse = masking == "none" ? 1 : lossEntries / maskEntries
      // RLinf spreads the mask over the tokens for its ratio metrics only at token level.
      let ratioCoarse = logprob == .tokenLevel ? 1 : coarse
      let lossCoarse = masking == "length" ? 1 : coarse
      let expectations: [(String, String, Double)] = [
        ("train/actor/policy_loss", "actor/policy_loss", lossCoarse),
        ("train/actor/policy_loss_abs", "actor/policy_loss_abs", lossCoarse),
        ("train/actor/approx_kl", "actor/approx_kl", coarse),
        ("train/actor/clip_fraction", "actor/clip_fraction", coarse),
        ("train/actor/ratio", "actor/ratio", ratioCoarse),
        ("train/actor/ratio_abs", "actor/ratio_abs", ratioCoarse),
        ("train/actor/clipped_ratio", "actor/clipped_ratio", ratioCoarse),
        ("train/actor/dual_cliped_ratio", "actor/dual_cliped_ratio", ratioCoarse),
        ("train/critic/value_loss", "critic/value_loss", 1),
        ("train/critic/explained_variance", "critic/explained_variance", 1),
      ]
      for (ourName, theirName, factor) in expectations {
        let (mine, theirs) = (ours[ourName]!, rlinf[theirName]!)
        #expect(Swift.abs(mine * factor - theirs) <= 1e-4 * Swift.max(1, Swift.abs(theirs)), "\(key) \(ourName): ours \(mine) x \(factor), RLinf \(theirs)")
      }
      // The total: RLinf's actor + critic, with the same scaling of the policy part.
      let total = try loss.item()
      let expectedTotal = (rlinf["actor/policy_loss"]! / lossCoarse) + rlinf["critic/value_loss"]!
      #expect(Swift.abs(total - expectedTotal) < 1e-4 * Swift.max(1, Swift.abs(expectedTotal)), "\(key) total loss")
      // Deliberate difference: RLinf's value_clip_ratio compares the already clamped difference
      // with the clip, which only rounding can exceed; ours counts the values that moved past it.
      #expect(Swift.abs(ours["train/critic/value_clip_ratio"]! - rlinf["values_moved_past_clip"]!) < 1e-6, "\(key) value_clip_ratio")
      #expect(rlinf["actor/clip_fraction"]! > 0 && rlinf["actor/dual_cliped_ratio"]! > 0, "\(key): the inputs exercise both clips")
    }
  }
}
