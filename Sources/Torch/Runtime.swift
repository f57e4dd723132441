import CTorch

/// Process-wide libtorch settings: version, devices, threads, seeds.
public enum TorchRuntime {
  /// Version of the linked libtorch, e.g. "1.13.0".
  public static var version: String { String(cString: ct_version()) }

  public static var cudaAvailable: Bool { ct_cuda_available() }
  public static var cudaDeviceCount: Int { Int(ct_cuda_device_count()) }

  /// Whether the linked libtorch has a fused scaled-dot-product attention kernel (2.0 and later).
  public static var hasFusedAttention: Bool { ct_has_fused_attention() }

  /// Intra-op threads used by libtorch kernels on the calling thread (per stage in the
  /// pipeline). libtorch gives each thread, at its first parallel operation, the count set last
  /// by any thread; the setter first triggers that here and only then sets this thread's own
  /// count, so a stage's count never depends on which other stage set one last (their kernels'
  /// summation order, and so their results, would).
  public static var threads: Int {
    get { Int(ct_get_num_threads()) }
    set {
      _ = ct_get_num_threads()
      ct_set_num_threads(Int32(newValue))
    }
  }

  /// Threads of OpenBLAS's own pool (false when the loaded BLAS is not OpenBLAS). Keep it at 1:
  /// libtorch parallelises around BLAS calls itself.
  @discardableResult
  public static func setBLASThreads(_ count: Int) -> Bool { ct_set_blas_threads(Int32(count)) }

  /// Sets the intra-op thread count and makes BLAS single-threaded: the set-up for one stage.
  public static func configureThreads(_ count: Int) {
    threads = count
    setBLASThreads(1)
  }

  /// Inter-op threads; only settable before the first parallel operation.
  public static func setInteropThreads(_ count: Int) throws {
    try check(ct_set_num_interop_threads(Int32(count)), "setInteropThreads(\(count))")
  }

  /// Seeds libtorch's global CPU generator (dropout, rand without an explicit generator).
  public static func manualSeed(_ seed: UInt64) { ct_manual_seed(seed) }

  /// Checks that a device can be used with the linked libtorch (clear error otherwise).
  public static func validate(_ device: Device) throws {
    if case .cuda(let index) = device {
      guard cudaAvailable else {
        throw TorchError("device \(device) requested, but the linked libtorch \(version) has no CUDA support; build with RLINF_LIBTORCH pointing at a CUDA libtorch")
      }
      guard index < cudaDeviceCount else {
        throw TorchError("device \(device) requested, but only \(cudaDeviceCount) CUDA device(s) are visible")
      }
    }
  }
}
