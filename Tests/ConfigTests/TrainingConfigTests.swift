import Config
import Foundation
import Testing
import TestSupport

@Suite struct TrainingConfigTests {
  func rejection(_ yaml: String) -> ConfigError? {
    do {
      _ = try TrainingConfig.parse(yaml: yaml)
      return nil
    } catch let error as ConfigError {
      return error
    } catch {
      Issue.record("unexpected error type: \(error)")
      return nil
    }
  }

  @Test func readsRLinfKeys() throws {
    let config = try TrainingConfig.parse(yaml: """
      runner:
        max_epochs: 7
        logger: {log_path: out, experiment_name: grpo-test}
      algorithm:
        adv_type: grpo
        group_size: 4
        reward_type: chunk_level
        logprob_type: action_level
        clip_ratio_c: null
        filter_rewards: true
        rewards_lower_bound: 0.5
        rewards_upper_bound: 4.5
        sampling_params: {temperature_train: 1.6, top_k: -1}
      env:
        train: {total_num_envs: 8, max_steps_per_rollout_epoch: 40, tasks: [pick-red-cube, pick-green-cube], max_episode_steps: ~, auto_reset: false}
      actor:
        global_batch_size: 16
        micro_batch_size: 8
        model: {model_type: openvla_oft, num_action_chunks: 4, white_balance: true}
        optim: {lr: 2.0e-5}
      """)
    #expect(config.runner.maxEpochs == 7)
    #expect(config.runner.experimentName == "grpo-test")
    #expect(config.algorithm.advType == .grpo)
    #expect(config.algorithm.lossType == .actor)  // GRPO's default
    #expect(config.actor.model.addValueHead == false)
    #expect(config.algorithm.clipRatioC == nil)
    #expect(config.algorithm.logprobType == .actionLevel)
    #expect(config.algorithm.sampling.topK == 0)
    #expect(config.algorithm.sampling.temperatureTrain == 1.6)
    #expect(config.env.train.tasks == ["pick-red-cube", "pick-green-cube"])
    #expect(config.env.train.maxEpisodeSteps == nil)
    #expect(config.actor.optim.lr == 2e-5)
    #expect(config.actor.model.whiteBalance)
  }

  @Test func unknownKeysAndWrongTypesNameTheKey() {
    #expect(rejection("algorithm: {clip_ratio_hihg: 0.3}") == ConfigError("algorithm.clip_ratio_hihg", "unknown key"))
    #expect(rejection("actor: {optim: {lr: fast}}")?.key == "actor.optim.lr")
    #expect(rejection("actor: {optim: {lr: fast}}")?.problem.contains("expected a number") == true)
    #expect(rejection("env: {train: {auto_reset: maybe}}")?.key == "env.train.auto_reset")
    #expect(rejection("algorithm: {adv_type: reinforce}")?.problem.contains("gae, grpo") == true)
    #expect(rejection("runner: 3")?.key == "runner")
    #expect(rejection("bogus_section: {}")?.key == "bogus_section")
    #expect(rejection("algorithm: [1, 2")?.problem.hasPrefix("not valid YAML") == true)
  }

  @Test func inconsistentCombinationsAreRejected() {
    // Envs not divisible by group size.
    #expect(rejection("algorithm: {adv_type: grpo, group_size: 3}\nenv: {train: {total_num_envs: 16}}")?.key == "algorithm.group_size")
    // GRPO scores one episode per window: partial resets are refused.
    #expect(rejection("algorithm: {adv_type: grpo, group_size: 4}\nenv: {train: {total_num_envs: 16}}")?.key == "env.train.auto_reset")
    // The success filter groups environments for GAE too, so the groups must divide them.
    #expect(rejection("algorithm: {filter_rewards: true, group_size: 3}\nenv: {train: {total_num_envs: 16}}")?.key == "algorithm.group_size")
    #expect(rejection("algorithm: {filter_rewards: true, group_size: 4}\nenv: {train: {total_num_envs: 16}}") == nil)
    // GRPO with a value-head loss.
    #expect(rejection("algorithm: {adv_type: grpo, group_size: 4, loss_type: actor_critic}")?.key == "algorithm.loss_type")
    // GAE without a critic.
    #expect(rejection("algorithm: {adv_type: gae, loss_type: actor}")?.key == "algorithm.loss_type")
    #expect(rejection("actor: {model: {add_value_head: false}}")?.key == "actor.model.add_value_head")
    // Steps not divisible by the chunk size.
    #expect(rejection("env: {train: {max_steps_per_rollout_epoch: 30}}\nactor: {model: {num_action_chunks: 4}}")?.key
      == "env.train.max_steps_per_rollout_epoch")
    // OpenVLA decodes one action per forward.
    #expect(rejection("actor: {model: {model_type: openvla, num_action_chunks: 4}}")?.key == "actor.model.num_action_chunks")
    // Chunk-level log-probs with action-level rewards.
    #expect(rejection("algorithm: {logprob_type: chunk_level, reward_type: action_level}\nactor: {model: {value_type: action_level}}")?.key
      == "algorithm.logprob_type")
    // GAE pairs values with rewards.
    #expect(rejection("algorithm: {reward_type: action_level}")?.key == "actor.model.value_type")
    // Batch sizes.
    #expect(rejection("actor: {global_batch_size: 60, micro_batch_size: 16}")?.key == "actor.global_batch_size")
    #expect(rejection("actor: {global_batch_size: 4096, micro_batch_size: 16}")?.problem.contains("samples") == true)
    #expect(rejection("algorithm: {gamma: 1.5}")?.key == "algorithm.gamma")
    #expect(rejection("algorithm: {sampling_params: {temperature_eval: -1}}")?.key == "algorithm.sampling_params.temperature_eval")
    #expect(rejection("algorithm: {sampling_params: {temperature_eval: 0}}") == nil, "0 means greedy evaluation")
    #expect(rejection("env: {train: {simulator_type: isaac}}")?.key == "env.train.simulator_type")
  }

  /// The learning-efficiency knobs: image-token pooling, bfloat16 matmuls, the dense reward with
  /// its reach terms, and timeouts without a bootstrap.
  @Test func readsEfficiencyKnobs() throws {
    let config = try TrainingConfig.parse(yaml: """
      algorithm: {bootstrap_type: none}
      env: {train: {reward_mode: dense, max_steps_per_rollout_epoch: 48}}
      actor: {model: {num_action_chunks: 4, patch_pool: 2, precision: bf16}}
      """)
    #expect(config.algorithm.bootstrapType == BootstrapType.none)
    #expect(config.env.train.rewardMode == .dense)
    #expect(config.actor.model.patchPool == 2 && config.actor.model.precision == .bf16)
    let defaults = try TrainingConfig.parse(yaml: "")
    #expect(defaults.actor.model.patchPool == 1 && defaults.actor.model.precision == .fp32)
    #expect(rejection("actor: {model: {patch_pool: 3}}")?.key == "actor.model.patch_pool")
    #expect(rejection("actor: {model: {precision: fp8}}")?.problem.contains("fp32, bf16") == true)
    #expect(rejection("env: {train: {reward_mode: dense, simulator_type: maniskill, tasks: [PickCube-v1]}}")?.key == "env.train.reward_mode")
    #expect(rejection("algorithm: {bootstrap_type: sometimes}")?.problem.contains("standard, always, none") == true)
  }

  /// Randomised training scenes: the embedded train split of env.train only.
  @Test func randomisedAppearanceIsForTheEmbeddedTrainingScenes() throws {
    let config = try TrainingConfig.parse(yaml: "env: {train: {randomize_appearance: true}}")
    #expect(config.env.train.randomizeAppearance && !config.env.eval.randomizeAppearance)
    #expect(try TrainingConfig.parse(yaml: "").env.train.randomizeAppearance == false)
    #expect(rejection("env: {eval: {randomize_appearance: true}}")?.key == "env.eval.randomize_appearance")
    #expect(rejection("env: {train: {randomize_appearance: true, split: vision}}")?.key == "env.train.randomize_appearance")
    #expect(rejection("env: {train: {randomize_appearance: true, simulator_type: maniskill, tasks: [PickCube-v1]}}")?.key == "env.train.randomize_appearance")
    // The demonstrations follow env.train unless sft.randomize_scenes is false.
    #expect(config.sft.randomizeScenes == nil)
    #expect(try TrainingConfig.parse(yaml: "sft: {randomize_scenes: false}").sft.randomizeScenes == false)
    // Clutter: 2 to 4 distractors, the training scenes only.
    #expect(try TrainingConfig.parse(yaml: "env: {train: {max_distractors: 4}}").env.train.maxDistractors == 4)
    #expect(rejection("env: {train: {max_distractors: 5}}")?.problem.contains("2...4") == true)
    #expect(rejection("env: {eval: {max_distractors: 3}}")?.key == "env.eval.max_distractors")
    #expect(rejection("env: {train: {max_distractors: 3, split: execution}}")?.key == "env.train.max_distractors")
    #expect(try TrainingConfig.parse(yaml: "env: {train: {start_spread: 0.08}}").env.train.startSpread == 0.08)
    #expect(rejection("env: {train: {start_spread: 0.2}}")?.problem.contains("0...0.12") == true)
    #expect(rejection("env: {eval: {start_spread: 0.06}}")?.key == "env.eval.start_spread")
  }

  @Test func readsThePlacement() throws {
    let rlinfStyle = try TrainingConfig.parse(yaml: "cluster: {component_placement: {\"actor,env,rollout\": all}}")
    #expect(rlinfStyle.placementMode == .collocated)
    #expect(Set(rlinfStyle.cluster.components.keys) == [.env, .rollout, .actor])
    #expect(rlinfStyle.cluster.placement(of: .env).cores == nil)
    let hybrid = try TrainingConfig.parse(yaml: """
      rollout: {pipeline_stage_num: 2}
      cluster:
        component_placement:
          env: "0,2-3"
          rollout: {cores: "1", threads: 1, device: cpu, numa_node: 0}
          actor: all
      """)
    #expect(hybrid.placementMode == .hybrid)  // disjoint env/rollout cores with sub-batches
    #expect(hybrid.cluster.placement(of: .env).cores == [0, 2, 3])
    #expect(hybrid.cluster.placement(of: .rollout) == ComponentPlacement(cores: [1], threads: 1, device: "cpu", numaNode: 0))
    let disaggregated = try TrainingConfig.parse(yaml: "cluster: {component_placement: {env: \"0\", rollout: \"1\", actor: all}}")
    #expect(disaggregated.placementMode == .disaggregated)
  }

  @Test func badPlacementsAreRejected() {
    let key = "cluster.component_placement"
    #expect(rejection("cluster: {component_placement: {env: all, rollout: all, learner: all}}")?.problem.contains("unknown component \"learner\"") == true)
    #expect(rejection("cluster: {component_placement: {env: all, rollout: all}}") == ConfigError(key + ".actor", "missing: a placement must give every component (env, rollout, actor) its resources"))
    #expect(rejection("cluster: {component_placement: {\"env,rollout\": all, env: all, actor: all}}")?.problem.contains("placed twice") == true)
    #expect(rejection("cluster: {component_placement: {\"actor,env,rollout\": \"3-1\"}}")?.key == key + ".actor,env,rollout")
    #expect(rejection("cluster: {component_placement: {\"actor,env,rollout\": {cores: \"0-1\", threads: 3}}}")?.key == key + ".env.threads")
    #expect(rejection("cluster: {component_placement: {\"actor,env,rollout\": {cores: all, device: tpu}}}")?.key == key + ".env.device")
    #expect(rejection("cluster: {component_placement: {\"actor,env,rollout\": {cores: all, gpus: 2}}}")?.key == key + ".actor,env,rollout.gpus")
    // Overlapping env and rollout cores outside collocated mode.
    #expect(rejection("cluster: {placement_mode: disaggregated, component_placement: {env: \"0-1\", rollout: \"1\", actor: all}}")?.problem
      .contains("both use [1]") == true)
    #expect(rejection("cluster: {placement_mode: hybrid, component_placement: {\"actor,env,rollout\": all}}")?.key == key)
    #expect(rejection("cluster: {placement_mode: collocated, component_placement: {env: \"0\", rollout: \"1\", actor: all}}")?.key == "cluster.placement_mode")
    #expect(rejection("cluster: {placement_mode: hybrid, component_placement: {env: \"0\", rollout: \"1\", actor: all}}")?.key == "rollout.pipeline_stage_num")
    // A sub-batch that cuts a GRPO group.
    #expect(rejection("algorithm: {adv_type: grpo, group_size: 4}\nenv: {train: {total_num_envs: 8, auto_reset: false}}\nrollout: {pipeline_stage_num: 4}")?.key
      == "rollout.pipeline_stage_num")
  }

  @Test func shippedConfigsAreValid() throws {
    let folder = repositoryRoot + "/configs"
    let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".yaml") }.sorted()
    #expect(names.count >= 4)
    var seen: Set<String> = []
    for name in names {
      let config = try TrainingConfig.load(path: folder + "/" + name)
      seen.insert("\(config.algorithm.advType.rawValue)-\(config.actor.model.modelType.rawValue)")
    }
    #expect(seen.isSuperset(of: ["gae-openvla", "gae-openvla_oft", "grpo-openvla", "grpo-openvla_oft"]))
  }

  @Test func fileErrorsNameTheFile() throws {
    let dir = try temporaryDirectory("config")
    let path = dir + "/bad.yaml"
    try "actor: {seed: x}\n".write(toFile: path, atomically: true, encoding: .utf8)
    do {
      _ = try TrainingConfig.load(path: path)
      Issue.record("accepted a bad config")
    } catch let error as ConfigError {
      #expect(error.key == "actor.seed")
      #expect(error.problem.contains(path))
    }
    #expect(throws: ConfigError.self) { try TrainingConfig.load(path: dir + "/missing.yaml") }
  }
}
