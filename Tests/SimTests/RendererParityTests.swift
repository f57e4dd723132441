import Testing
import TestSupport

@testable import Sim

@Suite struct RendererParityTests {
  /// The Vulkan kernel (lavapipe here) and the CPU renderer draw the same images: at most 2/255
  /// apart on all but 0.1% of pixel channels. Sizes include one whose batch is not a multiple of
  /// 4 pixels (the kernel writes 4 pixels per invocation).
  @Test(arguments: [(64, Split.inDistribution), (65, Split.vision), (128, Split.execution)])
  func vulkanMatchesCPU(size: Int, split: Split) throws {
    let tasks = ["stack-red-cube-blue-cube", "bowl-blue-sphere-green-bowl", "push-red-cube-green-marker"]
    func images(_ renderer: RendererKind) throws -> (rgb: [UInt8], wrist: [UInt8], name: String) {
      let env = try makeEnv(tasks, split: split, size: size, seed: 4) {
        $0.renderer = renderer
        $0.wristCamera = true
      }
      let expert = ScriptedExpert(env: env)
      for _ in 0..<12 { try env.step(expert.actions()) }
      return (Array(env.rgb), Array(env.wristRGB!), env.rendererName)
    }
    let cpu = try images(.cpu), vulkan = try images(.vulkan)
    #expect(cpu.name == "cpu" && vulkan.name.hasPrefix("vulkan"))
    for (a, b, label) in [(cpu.rgb, vulkan.rgb, "third-person"), (cpu.wrist, vulkan.wrist, "wrist")] {
      #expect(a.count == b.count)
      let far = zip(a, b).filter { Swift.abs(Int($0) - Int($1)) > 2 }.count
      #expect(Double(far) <= 0.001 * Double(a.count), "\(label): \(far) of \(a.count) channels differ by more than 2")
      #expect(Set(a).count > 10, "\(label): a real image, not a constant")
    }
  }

  /// The SPIR-V the package embeds is what glslc makes of the current shader and raycast.h.
  @Test func embeddedSPIRVIsCurrent() throws {
    let output = try runProgram("/bin/bash", [repositoryRoot + "/tools/build-shaders", "--check"])
    #expect(output.contains("up to date"))
  }

  @Test func unknownVulkanDeviceIsAClearError() {
    do {
      _ = try makeEnv(["pick-red-cube"]) { $0.renderer = .vulkan; $0.vulkanDevice = 99 }
      Issue.record("device 99 accepted")
    } catch {
      #expect("\(error)".contains("device 99 requested"))
    }
  }
}
