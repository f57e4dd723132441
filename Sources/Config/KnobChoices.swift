/// The knobs that take one of a few spellings (RLinf-VLA's names and values).

/// `algorithm.adv_type`: how advantages are estimated.
public enum AdvantageType: String, Sendable, CaseIterable {
  /// Generalised advantage estimation with a learned value head (PPO).
  case gae
  /// Group-relative scores of environments that share a reset state (GRPO); no critic.
  case grpo
}

/// `algorithm.loss_type`: what the update trains.
public enum LossType: String, Sendable, CaseIterable {
  /// Policy and value head (PPO).
  case actorCritic = "actor_critic"
  /// Policy only (GRPO).
  case actor
}

/// Granularity of log-probs, entropies, rewards and values (`logprob_type`, `entropy_type`,
/// `reward_type`, `value_type`): one entry per action token, per action (7 tokens) or per chunk
/// (K actions).
public enum Granularity: String, Sendable, CaseIterable {
  case tokenLevel = "token_level"
  case actionLevel = "action_level"
  case chunkLevel = "chunk_level"
}

/// `algorithm.bootstrap_type`: which episode ends inside a rollout window earn
/// + gamma * V(final observation): `standard` on truncation only, `always` also on termination
/// (RLinf's two), `none` never: a time-limit truncation ends the episode like a failure, for
/// tasks whose time limit is part of the task and whose observations do not show the time (a
/// critic that cannot see the clock values a timed-out failure like a state that will still
/// succeed, and the failure then costs nothing).
public enum BootstrapType: String, Sendable, CaseIterable {
  case standard, always, none
}

/// `actor.model.model_type`: the policy head.
public enum PolicyModelType: String, Sendable, CaseIterable {
  /// 7 action tokens decoded one at a time.
  case openvla
  /// K x 7 action tokens decoded in one forward.
  case openvlaOFT = "openvla_oft"
}

/// `actor.model.precision`: the number format of the policy's matmuls.
public enum Precision: String, Sendable, CaseIterable {
  case fp32
  /// bfloat16 matmuls (autocast) over float32 weights.
  case bf16
  /// bf16 where the device computes bfloat16 in hardware (CUDA; CPUs with AVX512-BF16 or AMX),
  /// fp32 elsewhere: emulated bfloat16 is many times slower than float32.
  case auto
}

/// `env.*.reward_mode`: sparse success, RLinf's shaped terms, or those plus reaching.
public enum RewardMode: String, Sendable, CaseIterable {
  /// 1 at success (the embedded simulator; ManiSkill's `sparse`).
  case sparse
  /// Differenced potential of grasp, held grasp, progress towards the goal and success (RLinf's
  /// ManiSkill terms; ManiSkill's `normalized_dense`).
  case shaped
  /// `shaped` plus a reach term (the palm closing in on the target) and a cube's jaw alignment,
  /// so the approach is rewarded before any grasp (embedded simulator only).
  case dense
}

/// `sft.lr_schedule`: the warm start's learning-rate schedule.
public enum LRSchedule: String, Sendable, CaseIterable {
  case constant
  /// 5% linear warm-up, then cosine decay to zero.
  case cosine
}

/// `serve.weights`: which weights rlinfd's policy server answers with while a job trains.
public enum ServedWeights: String, Sendable, CaseIterable {
  /// The rollout copy as of the latest iteration (swapped in after each update).
  case rollout
  /// The newest checkpoint written (swapped in as each one completes).
  case checkpoint
}
