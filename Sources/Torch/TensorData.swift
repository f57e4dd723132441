import CTorch

extension Tensor {
  /// Converts dtype and/or device (returns `self` when nothing changes).
  public func to(dtype: DType? = nil, device: Device? = nil) throws -> Tensor {
    let targetDType = dtype ?? self.dtype
    let targetDevice = device ?? self.device
    if targetDType == self.dtype && targetDevice == self.device { return self }
    return try wrap(
      ct_to(raw, targetDType.rawValue, targetDevice.code, targetDevice.index),
      "to(\(targetDType), \(targetDevice))")
  }

  public func contiguous() throws -> Tensor { try wrap(ct_contiguous(raw), "contiguous") }

  /// A copy with its own storage.
  public func clone() throws -> Tensor { try wrap(ct_clone(raw), "clone") }

  /// All elements in row-major order, copied to the CPU. `T` must match the dtype.
  public func scalars<T: TensorScalar>(as type: T.Type = T.self) throws -> [T] {
    guard T.dtype == dtype else {
      throw TorchError("scalars(as: \(T.self)) on a \(dtype) tensor: convert with to(dtype:) first")
    }
    let count = elementCount
    return try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
      try check(
        ct_copy_to(raw, buffer.baseAddress, count * MemoryLayout<T>.stride), "scalars")
      initialized = count
    }
  }

  /// Elements as Float (converting the dtype if needed).
  public func floats() throws -> [Float] { try to(dtype: .float32).scalars(as: Float.self) }

  /// Elements as Double (converting the dtype if needed).
  public func doubles() throws -> [Double] { try to(dtype: .float64).scalars(as: Double.self) }

  /// Elements as Int (converting the dtype if needed).
  public func ints() throws -> [Int] { try to(dtype: .int64).scalars(as: Int64.self).map(Int.init) }

  /// The value of a one-element tensor.
  public func item() throws -> Double {
    var value = 0.0
    try check(ct_item(raw, &value), "item")
    return value
  }

  /// Raw bytes of a contiguous CPU tensor, valid while `self` lives.
  public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    guard device == .cpu, isContiguous else {
      throw TorchError("withUnsafeBytes needs a contiguous CPU tensor (call contiguous() / to(device: .cpu))")
    }
    let count = elementCount * dtype.byteSize
    return try body(UnsafeRawBufferPointer(start: count == 0 ? nil : ct_data_ptr(raw), count: count))
  }

  /// Overwrites a contiguous CPU tensor with `bytes` (exactly its size).
  public func copyBytes(from bytes: UnsafeRawBufferPointer) throws {
    try check(ct_copy_from(raw, bytes.baseAddress, bytes.count), "copyBytes(from:)")
  }
}
