import Config
import Foundation
import Testing
import TestSupport

/// The knob table is the one description of the config: every field has a knob, the reader and
/// the written-back values agree, the live keys are the ones the docs promise, and
/// docs/config-keys.md is the table.
@Suite struct KnobTableTests {
  /// The dotted paths of TrainingConfig's stored fields, found by reflection (not by the table).
  func fieldPaths(_ value: Any, prefix: String = "") -> [String] {
    Mirror(reflecting: value).children.flatMap { child -> [String] in
      let path = prefix + (child.label ?? "?")
      return Mirror(reflecting: child.value).displayStyle == .struct ? fieldPaths(child.value, prefix: path + ".") : [path]
    }
  }

  @Test func everyFieldHasExactlyOneKnob() {
    let fields = fieldPaths(TrainingConfig())
    let knobFields = TrainingConfig.knobs.map { $0.field.replacingOccurrences(of: "\\TrainingConfig.", with: "") }
    #expect(fields.count > 90)
    #expect(Set(knobFields).count == knobFields.count, "a field set by two knobs")
    #expect(Set(fields).subtracting(knobFields).sorted() == [], "fields no knob sets")
    #expect(Set(knobFields).subtracting(fields).sorted() == [], "knobs of no field")
    let keys = TrainingConfig.knobs.map(\.key)
    #expect(Set(keys).count == keys.count, "a key listed twice")
    for knob in TrainingConfig.knobs {
      #expect(!knob.doc.isEmpty && !knob.spelling.isEmpty, "\(knob.key) lacks a doc or spelling")
    }
  }

  /// Nested YAML that sets every knob to its value in `config`.
  func yamlSettingEveryKnob(of config: TrainingConfig) -> String {
    var lines: [String] = [], open: [Substring] = []
    for knob in TrainingConfig.knobs {
      let parts = knob.key.split(separator: ".")
      let sections = Array(parts.dropLast())
      let shared = zip(open, sections).prefix { $0 == $1 }.count
      for (depth, name) in sections.enumerated().dropFirst(shared) {
        lines.append(String(repeating: "  ", count: depth) + name + ":")
      }
      open = sections
      lines.append(String(repeating: "  ", count: sections.count) + parts.last! + ": " + knob.value(in: config))
    }
    return lines.joined(separator: "\n")
  }

  /// Every shipped config and the defaults, written back knob by knob and read again, give the
  /// same value for every knob: the reader and the table's spellings agree.
  @Test(arguments: ["main.yaml", "suite.yaml", "ppo-openvla.yaml", "ppo-openvla_oft.yaml", "grpo-openvla.yaml", "grpo-openvla_oft.yaml", nil])
  func writtenBackConfigsReadTheSame(_ name: String?) throws {
    let config = try name.map { try TrainingConfig.load(path: repositoryRoot + "/configs/" + $0) } ?? TrainingConfig()
    let again = try TrainingConfig.parse(yaml: yamlSettingEveryKnob(of: config))
    for knob in TrainingConfig.knobs {
      #expect(knob.value(in: again) == knob.value(in: config), "\(knob.key)")
    }
  }

  @Test func defaultsComeFromTheConfigStructs() {
    #expect(TrainingConfig.knob("algorithm.gamma")?.defaultText == "0.99")
    #expect(TrainingConfig.knob("env.eval.total_num_envs")?.defaultText == "32")
    #expect(TrainingConfig.knob("env.train.total_num_envs")?.defaultText == "16")
    #expect(TrainingConfig.knob("algorithm.clip_ratio_c")?.defaultText == "3.0")
    #expect(TrainingConfig.knob("actor.model.model_path")?.defaultText == "null")
    #expect(TrainingConfig.knob("sft.lr_schedule")?.spelling == "one of: constant, cosine")
  }

  @Test func liveKeysAreTheDocumentedOnes() throws {
    #expect(TrainingConfig.liveKeys.map(\.key) == [
      "runner.max_epochs", "runner.val_check_interval", "runner.save_interval", "algorithm.entropy_bonus",
      "algorithm.sampling_params.temperature_train", "algorithm.sampling_params.temperature_eval",
      "actor.optim.lr", "actor.optim.value_lr",
    ])
    let base = TrainingConfig()
    #expect(try base.settingLive("actor.optim.lr", to: "5e-5").actor.optim.lr == 5e-5)
    #expect(try base.settingLive("actor.optim.value_lr", to: "0.01").actor.optim.valueLr == 0.01)
    #expect(try base.settingLive("algorithm.entropy_bonus", to: "0.02").algorithm.entropyBonus == 0.02)
    #expect(try base.settingLive("algorithm.sampling_params.temperature_train", to: "1.5").algorithm.sampling.temperatureTrain == 1.5)
    #expect(try base.settingLive("algorithm.sampling_params.temperature_eval", to: "0").algorithm.sampling.temperatureEval == 0)
    #expect(try base.settingLive("runner.val_check_interval", to: "5").runner.valCheckInterval == 5)
    #expect(try base.settingLive("runner.save_interval", to: "-1").runner.saveInterval == -1)
    #expect(try base.settingLive("runner.max_epochs", to: "12").runner.maxEpochs == 12)
  }

  @Test func liveChangesAreCheckedLikeTheFile() {
    func problem(_ key: String, _ value: String) -> ConfigError? {
      do {
        _ = try TrainingConfig().settingLive(key, to: value)
        return nil
      } catch {
        return error as? ConfigError
      }
    }
    #expect(problem("actor.optim.lr", "fast")?.problem.contains("expected a number") == true)
    #expect(problem("actor.optim.lr", "-1")?.problem.contains("must be positive") == true)
    #expect(problem("runner.max_epochs", "0")?.key == "runner.max_epochs")
    #expect(problem("algorithm.gamma", "0.9")?.problem.contains("is not live-tunable") == true)
    #expect(problem("algorithm.no_such_knob", "1")?.problem == "unknown key")
  }

  @Test func docsListEveryKnob() throws {
    let path = repositoryRoot + "/docs/config-keys.md"
    let file = try String(contentsOfFile: path, encoding: .utf8)
    #expect(file == TrainingConfig.knobReference, "docs/config-keys.md is stale: swift run rlinf-train --list-keys > docs/config-keys.md")
    for knob in TrainingConfig.knobs { #expect(file.contains("| `\(knob.key)` |")) }
  }
}
