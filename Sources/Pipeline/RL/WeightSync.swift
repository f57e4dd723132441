import Models
import Torch

/// Keeps the rollout stage's copy of the policy in step with the actor's: after each update
/// `publish` copies the actor's weights (LoRA adapters merged, so inference runs plain Linear
/// layers) into the replica on the rollout device (which may differ from the actor's) and bumps
/// `version`. The copy happens between windows, so the simulator waits for the copy and nothing
/// else.
public final class WeightSync {
  /// The policy the rollout stage runs.
  public let rolloutPolicy: VLAPolicy
  /// Updates published so far (0: the actor's weights at construction; restored on resume).
  public internal(set) var version = 0

  public init(actor: VLAPolicy, device: Device? = nil) throws {
    // A throwaway generator for the initial weights (overwritten below), so building the copy
    // leaves libtorch's global random stream alone.
    rolloutPolicy = try VLAPolicy(config: actor.config, tokenizer: actor.tokenizer, generator: Generator(seed: 0))
    for p in rolloutPolicy.parameters { try p.requiringGrad(false) }
    try rolloutPolicy.move(to: device ?? actor.device)
    try copy(from: actor)
  }

  /// Copies the actor's current weights to the rollout policy.
  public func publish(from actor: VLAPolicy) throws {
    try copy(from: actor)
    version += 1
  }

  private func copy(from actor: VLAPolicy) throws {
    try rolloutPolicy.loadParameters(LoRA.mergedState(of: actor), strict: true)
  }
}
