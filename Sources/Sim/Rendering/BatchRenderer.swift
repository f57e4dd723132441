import CRender
import CVulkan

/// Which renderer draws the observations.
public enum RendererKind: String, Sendable, CaseIterable {
  /// Vulkan on a GPU; the CPU renderer when the only Vulkan device is lavapipe or there is none
  /// (on the CPU, the C ray caster on the simulator's threads beats lavapipe: see tools/bench-sim).
  case auto
  /// The Vulkan compute kernel; an error when no Vulkan device exists.
  case vulkan
  /// The C ray caster on the simulator's worker threads.
  case cpu
  /// No images (state-only observations; the image buffers stay black).
  case none
}

/// The scene of a batch, laid out for the ray caster: env e owns primitive slots
/// e * maxPrimitives ..< e * maxPrimitives + counts[e].
struct RenderBatch {
  let primitives: UnsafeMutablePointer<RcPrimitive>
  let counts: UnsafeMutablePointer<Int32>
  let views: UnsafeMutablePointer<RcView>
  let maxPrimitives: Int
  let side: Int
}

/// Draws [N, H, W, 3] uint8 images of a batch.
protocol BatchRenderer: AnyObject, Sendable {
  var name: String { get }
  /// Renders environments `range` of `batch` into `out` (the whole batch's image buffer).
  func render(_ batch: RenderBatch, range: Range<Int>, into out: UnsafeMutablePointer<UInt8>) throws
  /// Whether the simulator's workers should each render their own range (CPU) or one call
  /// should render everything (GPU-style batch).
  var rendersPerWorker: Bool { get }
}

final class CPURenderer: BatchRenderer {
  var name: String { "cpu" }
  var rendersPerWorker: Bool { true }

  func render(_ batch: RenderBatch, range: Range<Int>, into out: UnsafeMutablePointer<UInt8>) {
    rc_render_cpu(
      batch.primitives, batch.counts, Int32(batch.maxPrimitives), batch.views, Int32(batch.side), Int32(batch.side),
      out, Int32(range.lowerBound), Int32(range.upperBound))
  }
}

final class NoRenderer: BatchRenderer {
  var name: String { "none" }
  var rendersPerWorker: Bool { true }
  func render(_ batch: RenderBatch, range: Range<Int>, into out: UnsafeMutablePointer<UInt8>) {}
}

final class VulkanRenderer: BatchRenderer, @unchecked Sendable {
  // @unchecked: used from the simulator's calling thread only, one render at a time.
  private let handle: OpaquePointer
  let name: String
  let runsOnCPU: Bool
  var rendersPerWorker: Bool { false }

  init(maxEnvs: Int, maxPrimitives: Int, side: Int, deviceIndex: Int?) throws {
    var error = [CChar](repeating: 0, count: 512)
    guard let handle = rc_vulkan_create(
      Int32(maxEnvs), Int32(maxPrimitives), Int32(side), Int32(side), Int32(deviceIndex ?? -1), &error, Int32(error.count))
    else { throw SimError.invalidConfig("Vulkan renderer unavailable: \(String(cBuffer: error))") }
    self.handle = handle
    name = "vulkan (\(String(cString: rc_vulkan_device_name(handle))))"
    runsOnCPU = rc_vulkan_device_is_cpu(handle) != 0
  }

  deinit { rc_vulkan_destroy(handle) }

  func render(_ batch: RenderBatch, range: Range<Int>, into out: UnsafeMutablePointer<UInt8>) throws {
    // The kernel renders environments 0 ..< n of its input: pass the range's slice.
    let first = range.lowerBound
    var error = [CChar](repeating: 0, count: 512)
    let status = rc_vulkan_render(
      handle, batch.primitives + first * batch.maxPrimitives, batch.counts + first, batch.views + first,
      Int32(range.count), out + first * batch.side * batch.side * 3, &error, Int32(error.count))
    guard status == 0 else {
      throw SimError.physics("Vulkan render failed: \(String(cBuffer: error))")
    }
  }
}

/// The renderer a config asks for.
func makeRenderer(_ kind: RendererKind, maxEnvs: Int, maxPrimitives: Int, side: Int, deviceIndex: Int?) throws -> any BatchRenderer {
  switch kind {
  case .cpu: return CPURenderer()
  case .none: return NoRenderer()
  case .vulkan: return try VulkanRenderer(maxEnvs: maxEnvs, maxPrimitives: maxPrimitives, side: side, deviceIndex: deviceIndex)
  case .auto:
    if let gpu = try? VulkanRenderer(maxEnvs: maxEnvs, maxPrimitives: maxPrimitives, side: side, deviceIndex: deviceIndex), !gpu.runsOnCPU {
      return gpu
    }
    return CPURenderer()
  }
}
