/// The algorithm knobs that take one of a few spellings (RLinf-VLA's names and values).

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
/// + gamma * V(final observation): `standard` on truncation only, `always` also on termination.
public enum BootstrapType: String, Sendable, CaseIterable {
  case standard, always
}

/// `actor.model.model_type`: the policy head.
public enum PolicyModelType: String, Sendable, CaseIterable {
  /// 7 action tokens decoded one at a time.
  case openvla
  /// K x 7 action tokens decoded in one forward.
  case openvlaOFT = "openvla_oft"
}

/// `env.*.reward_mode`: sparse success, or RLinf's shaped terms.
public enum RewardMode: String, Sendable, CaseIterable {
  case sparse, shaped
}
