import Config
import Pipeline
import Testing
import Torch

/// `actor.model.precision`: fp32 and bf16 are what they say on any device; auto is bf16 only
/// where the device computes it natively (AutocastTests checks that against lscpu).
@Suite struct PrecisionChoiceTests {
  @Test func autoPicksBFloat16OnlyWhereNative() throws {
    #expect(!Precision.fp32.usesBFloat16(on: .cpu) && !Precision.fp32.usesBFloat16(on: .cuda(0)))
    #expect(Precision.bf16.usesBFloat16(on: .cpu) && Precision.bf16.usesBFloat16(on: .cuda(0)))
    #expect(Precision.auto.usesBFloat16(on: .cuda(0)))
    #expect(Precision.auto.usesBFloat16(on: .cpu) == Autocast.isNative(on: .cpu))
    // The job's log says what auto chose and why.
    let summary = Precision.auto.summary(on: .cpu)
    #expect(summary == (Autocast.isNative(on: .cpu) ? "bf16 (auto: native on cpu)" : "fp32 (auto: cpu has no native bfloat16)"))
  }

  @Test func parsesAuto() throws {
    let config = try TrainingConfig.parse(yaml: "actor: {model: {precision: auto}}\n")
    #expect(config.actor.model.precision == .auto)
  }
}
