import Foundation
import Testing
import Torch

/// bfloat16 autocast (`Autocast`): the same values and gradients as PyTorch's CPU autocast, and
/// the region bookkeeping (nesting, float32 inside, restore after a throw, no stale weights).
@Suite struct AutocastTests {
  static let g = try! Generator(seed: 9)
  static func randn(_ shape: [Int]) -> Tensor { try! Tensor.randn(shape, generator: g) }

  @Test func matchesPyTorchAutocast() throws {
    let x = Self.randn([5, 16]), w = Self.randn([24, 16]), b = Self.randn([24]), m = Self.randn([16, 8])
    // bfloat16 keeps 8 bits of mantissa: the two sides may round differently where their
    // libtorch versions pick other kernels (the wheel override run: gradients within 5%; an
    // op computed wrongly is off by far more).
    let cases: [ReferenceCase] = [
      .op("autocast_linear", [x, w, b], python: "bf16_autocast(lambda: F.linear(x[0], x[1], x[2])).float()", tolerance: 6e-2) { x in
        try Autocast.withBFloat16 { try x[0].linear(weight: x[1], bias: x[2]) }.to(dtype: .float32)
      },
      .op("autocast_matmul_gelu", [x, m], python: "F.gelu(bf16_autocast(lambda: x[0] @ x[1]).float())", tolerance: 6e-2) { x in
        try Autocast.withBFloat16 { try x[0].matmul(x[1]).to(dtype: .float32).gelu() }
      },
    ]
    try expectMatches(try runReference(cases))
  }

  @Test func matmulsRunInBFloat16OnlyInside() throws {
    let x = Self.randn([3, 4]), w = try Self.randn([2, 4]).requiringGrad()
    #expect(!Autocast.isEnabled())
    let inside = try Autocast.withBFloat16 { () throws -> (Tensor, Tensor, Bool) in
      let nested = try Autocast.withBFloat16 { try x.linear(weight: w) }
      let float = try Autocast.withFloat32 { try x.linear(weight: w) }
      return (nested, float, Autocast.isEnabled())
    }
    #expect(inside.0.dtype == .bfloat16 && inside.1.dtype == .float32 && inside.2, "nested regions stay on; withFloat32 turns it off inside")
    let outside = try x.linear(weight: w)
    #expect(!Autocast.isEnabled() && outside.dtype == .float32)
    // Gradients reach the float32 weight as float32.
    try inside.0.to(dtype: .float32).sum().backward()
    #expect(w.grad?.dtype == .float32)
    // A throw leaves the state as it was.
    struct Failure: Error {}
    #expect(throws: Failure.self) { try Autocast.withBFloat16 { throw Failure() } }
    #expect(!Autocast.isEnabled())
    let disabled = try Autocast.withBFloat16(enabled: false) { try x.linear(weight: w) }
    #expect(disabled.dtype == .float32)
  }

  /// A weight changed between two regions is cast again (the cast cache is cleared on exit).
  @Test func noStaleWeightsAcrossRegions() throws {
    let x = try Tensor.ones([1, 4]), w = try Tensor.ones([1, 4]).requiringGrad()
    let first = try Autocast.withBFloat16 { try x.linear(weight: w) }.item()
    try Autograd.withNoGrad { try w.multiplyInPlace(3) }
    let second = try Autocast.withBFloat16 { try x.linear(weight: w) }.item()
    #expect(first == 4 && second == 12)
  }

  /// Native bfloat16 is what lscpu (util-linux, the kernel's flags) reports for this CPU:
  /// `precision: auto` then picks bf16 only where it is not emulated.
  @Test func nativeBFloat16FollowsTheCPUFlags() throws {
    let lscpu = Process()
    lscpu.executableURL = URL(fileURLWithPath: "/usr/bin/lscpu")
    let pipe = Pipe()
    lscpu.standardOutput = pipe
    try lscpu.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    lscpu.waitUntilExit()
    let flagsLine = try #require(output.split(separator: "\n").first { $0.hasPrefix("Flags:") })
    let flags = Set(flagsLine.split(separator: " ").map(String.init))
    #expect(flags.contains("sse2"))  // the line was read
    #expect(Autocast.isNative(on: .cpu) == (flags.contains("avx512_bf16") || flags.contains("amx_bf16")))
    #expect(Autocast.isNative(on: .cuda(0)))
  }
}
