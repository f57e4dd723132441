import CTorch

extension Tensor {
  /// A CPU tensor holding `values` (one copy into libtorch storage).
  public init<T: TensorScalar>(_ values: [T], shape: [Int]? = nil) throws {
    let shape = shape ?? [values.count]
    guard shape.reduce(1, *) == values.count else {
      throw TorchError("shape \(shape) needs \(shape.reduce(1, *)) values, got \(values.count)")
    }
    let sizes = shape.map(Int64.init)
    let raw = values.withUnsafeBytes { bytes in
      ct_from_data(bytes.baseAddress, sizes, Int32(sizes.count), T.dtype.rawValue)
    }
    self = try wrap(raw, "Tensor(values:shape:)")
  }

  /// A zero-dimensional tensor.
  public init<T: TensorScalar>(scalar value: T) throws {
    let raw = Swift.withUnsafeBytes(of: value) { bytes in
      ct_from_data(bytes.baseAddress, nil, 0, T.dtype.rawValue)
    }
    self = try wrap(raw, "Tensor(scalar:)")
  }

  /// A tensor that uses `data` in place, without copying. `release` runs once libtorch drops the
  /// storage (keep whatever owns `data` alive until then). `strides` in elements; nil = contiguous.
  public init(
    borrowing data: UnsafeMutableRawPointer, shape: [Int], strides: [Int]? = nil, dtype: DType,
    release: @escaping @Sendable () -> Void
  ) throws {
    final class Releaser { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    let context = Unmanaged.passRetained(Releaser(release)).toOpaque()
    let sizes = shape.map(Int64.init)
    let strideValues = strides?.map(Int64.init)
    let raw = strideValues.withOptionalPointer { stridePointer in
      ct_from_blob(
        data, sizes, stridePointer, Int32(sizes.count), dtype.rawValue,
        { context in
          let releaser = Unmanaged<Releaser>.fromOpaque(context!).takeRetainedValue()
          releaser.body()
        }, context)
    }
    if raw == nil { Unmanaged<Releaser>.fromOpaque(context).release() }
    self = try wrap(raw, "Tensor(borrowing:)")
  }

  public static func full(
    _ shape: [Int], value: Double, dtype: DType = .float32, device: Device = .cpu
  ) throws -> Tensor {
    let sizes = shape.map(Int64.init)
    return try wrap(
      ct_full(sizes, Int32(sizes.count), value, dtype.rawValue, device.code, device.index),
      "full(\(shape))")
  }

  public static func zeros(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
    try full(shape, value: 0, dtype: dtype, device: device)
  }

  public static func ones(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
    try full(shape, value: 1, dtype: dtype, device: device)
  }

  /// Values start, start+step, ... below end.
  public static func arange(
    _ start: Double = 0, _ end: Double, step: Double = 1, dtype: DType = .int64, device: Device = .cpu
  ) throws -> Tensor {
    try wrap(
      ct_arange(start, end, step, dtype.rawValue, device.code, device.index), "arange(\(start), \(end))")
  }

  public static func linspace(
    _ start: Double, _ end: Double, count: Int, dtype: DType = .float32, device: Device = .cpu
  ) throws -> Tensor {
    try wrap(
      ct_linspace(start, end, Int64(count), dtype.rawValue, device.code, device.index),
      "linspace(\(start), \(end), \(count))")
  }

  /// Uniform samples in [0, 1). Uses `generator` when given, else the global (seeded) one.
  public static func rand(
    _ shape: [Int], dtype: DType = .float32, device: Device = .cpu, generator: Generator? = nil
  ) throws -> Tensor {
    let sizes = shape.map(Int64.init)
    return try wrap(
      ct_rand(sizes, Int32(sizes.count), dtype.rawValue, device.code, device.index, generator?.raw),
      "rand(\(shape))")
  }

  /// Standard normal samples.
  public static func randn(
    _ shape: [Int], dtype: DType = .float32, device: Device = .cpu, generator: Generator? = nil
  ) throws -> Tensor {
    let sizes = shape.map(Int64.init)
    return try wrap(
      ct_randn(sizes, Int32(sizes.count), dtype.rawValue, device.code, device.index, generator?.raw),
      "randn(\(shape))")
  }

  /// Integers uniformly in [low, high), int64.
  public static func randint(
    _ low: Int, _ high: Int, shape: [Int], device: Device = .cpu, generator: Generator? = nil
  ) throws -> Tensor {
    let sizes = shape.map(Int64.init)
    return try wrap(
      ct_randint(Int64(low), Int64(high), sizes, Int32(sizes.count), device.code, device.index, generator?.raw),
      "randint(\(low), \(high))")
  }

  /// Same shape and device, new value everywhere.
  public func fullLike(_ value: Double, dtype: DType? = nil) throws -> Tensor {
    try Tensor.full(shape, value: value, dtype: dtype ?? self.dtype, device: device)
  }

  public func zerosLike() throws -> Tensor { try fullLike(0) }
}

extension Optional where Wrapped == [Int64] {
  func withOptionalPointer<R>(_ body: (UnsafePointer<Int64>?) -> R) -> R {
    guard let self else { return body(nil) }
    return self.withUnsafeBufferPointer { body($0.baseAddress) }
  }
}
