import RL
import Testing
import Torch

/// The fast learning check: PPO (with a critic) and GRPO (groups sharing a context) drive a
/// softmax policy on a contextual bandit to the right arm, using the project's advantage and
/// loss functions end to end. 4 contexts, 5 arms, reward 1 for arm (3c + 1) mod 5.
@Suite struct BanditLearningTests {
  static let contexts = 4, arms = 5
  static func correct(_ c: Int) -> Int { (3 * c + 1) % arms }

  final class Policy: Module {
    let logits = try! Embedding(BanditLearningTests.contexts, BanditLearningTests.arms, generator: try! Generator(seed: 1))
    let value = try! Embedding(BanditLearningTests.contexts, 1, generator: try! Generator(seed: 2))
    var children: [(name: String, module: any Module)] { [("logits", logits), ("value", value)] }
    init() { try! Autograd.withNoGrad { try logits.weight.multiplyInPlace(0.01); try value.weight.fillInPlace(0) } }
  }

  /// Samples one arm per context row; returns arms [B], rewards [B], old log-probs [B].
  static func rollout(_ policy: Policy, contexts: Tensor, generator: Generator) throws -> (Tensor, Tensor, Tensor) {
    try Autograd.withNoGrad {
      let logProbs = try policy.logits(contexts).logSoftmax(dim: -1)  // [B, arms]
      let arms = try logProbs.exp().multinomial(count: 1, generator: generator).squeeze(1)  // [B]
      let target = try Tensor(try contexts.ints().map { Int64(correct($0)) })
      let rewards = try arms.eq(target).to(dtype: .float32)
      return (arms, rewards, try logProbs.gather(dim: 1, index: arms.unsqueeze(1)).squeeze(1))
    }
  }

  static func greedyAccuracy(_ policy: Policy) throws -> Double {
    let best = try policy.logits.weight.argmax(dim: 1).ints()
    return Double((0..<contexts).filter { best[$0] == correct($0) }.count) / Double(contexts)
  }

  @Test func ppoLearnsTheBandit() throws {
    let policy = Policy()
    let optimizer = try AdamW(groups: [
      .init(name: "actor", parameters: policy.logits.namedParameters(prefix: "logits."), lr: 0.05, weightDecay: 0),
      .init(name: "critic", parameters: policy.value.namedParameters(prefix: "value."), lr: 0.1, weightDecay: 0),
    ])
    let generator = try Generator(seed: 3)
    let batch = 64
    let contexts = try Tensor((0..<batch).map { Int64($0 % Self.contexts) })
    let dones = try Tensor(Array(repeating: false, count: batch) + Array(repeating: true, count: batch), shape: [2, batch])
    var successes: [Double] = []
    for _ in 0..<40 {
      let (arms, rewards, oldLogProbs) = try Self.rollout(policy, contexts: contexts, generator: generator)
      successes.append(try rewards.mean().item())
      let oldValues = try Autograd.withNoGrad { try policy.value(contexts).squeeze(1) }  // [B]
      let values = try Tensor.stack([oldValues, oldValues.zerosLike()])  // [2, B]: bootstrap 0 (episode ended)
      let (advantages, returns) = try Advantages.gae(rewards: rewards.unsqueeze(0), values: values, dones: dones, gamma: 0.99, lambda: 0.95)
      let normalized = try Advantages.normalize(advantages.squeeze(0), mask: Tensor.ones([batch], dtype: .bool))
      for _ in 0..<4 {  // update epochs
        optimizer.zeroGrad()
        let logProbs = try policy.logits(contexts).logSoftmax(dim: -1).gather(dim: 1, index: arms.unsqueeze(1)).squeeze(1)
        let actor = try Losses.policy(logProbs: logProbs, oldLogProbs: oldLogProbs, advantages: normalized, clipLow: 0.2, clipHigh: 0.28, clipC: 3)
        let critic = try Losses.value(values: policy.value(contexts).squeeze(1), oldValues: oldValues, returns: returns.squeeze(0), valueClip: 0.2, huberDelta: 10)
        try (actor.loss.mean() + critic.loss.mean()).backward()
        try optimizer.step()
      }
    }
    #expect(try Self.greedyAccuracy(policy) == 1)
    #expect(successes.suffix(5).reduce(0, +) / 5 > 0.9, "success per iteration: \(successes)")
    #expect(successes.prefix(3).reduce(0, +) / 3 < 0.4, "it starts near chance (0.2)")
  }

  @Test func grpoLearnsTheBandit() throws {
    let policy = Policy()
    let optimizer = try AdamW(groups: [.init(name: "actor", parameters: policy.logits.namedParameters(prefix: "logits."), lr: 0.05, weightDecay: 0)])
    let generator = try Generator(seed: 4)
    let groupSize = 8
    let batch = Self.contexts * groupSize
    let contexts = try Tensor((0..<batch).map { Int64($0 / groupSize) })  // groups share a context
    let dones = try Tensor(Array(repeating: false, count: batch) + Array(repeating: true, count: batch), shape: [2, batch])
    var successes: [Double] = []
    for _ in 0..<40 {
      let (arms, rewards, oldLogProbs) = try Self.rollout(policy, contexts: contexts, generator: generator)
      successes.append(try rewards.mean().item())
      // Drop all-fail and all-success groups: they carry no signal.
      let grpo = try Advantages.grpo(rewards: rewards.unsqueeze(0), dones: dones, groupSize: groupSize)
      let mask = try Advantages.successFilter(rewards: rewards.unsqueeze(0), mask: grpo.lossMask, groupSize: groupSize, lower: 0.01, upper: 0.99)
      guard try mask.any().item() != 0 else { continue }
      for _ in 0..<4 {
        optimizer.zeroGrad()
        let logProbs = try policy.logits(contexts).logSoftmax(dim: -1).gather(dim: 1, index: arms.unsqueeze(1)).squeeze(1)
        let actor = try Losses.policy(
          logProbs: logProbs, oldLogProbs: oldLogProbs, advantages: grpo.advantages.squeeze(0), clipLow: 0.2, clipHigh: 0.28, clipC: 3)
        try Losses.maskedMean(actor.loss, mask: mask.squeeze(0)).backward()
        try optimizer.step()
      }
    }
    #expect(try Self.greedyAccuracy(policy) == 1)
    #expect(successes.suffix(5).reduce(0, +) / 5 > 0.9, "success per iteration: \(successes)")
  }
}
