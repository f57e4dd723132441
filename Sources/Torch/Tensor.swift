import CTorch

/// Owns one libtorch tensor reference and releases it when the last Swift reference goes away
/// (deterministically, by ARC).
final class TensorHandle: @unchecked Sendable {
  // @unchecked: at::Tensor reference counting is atomic; concurrent mutation of the same storage
  // is the caller's business, as in PyTorch.
  let raw: ct_tensor
  init(_ raw: ct_tensor) { self.raw = raw }
  deinit { ct_free(raw) }
}

/// An n-dimensional array on a device, with autograd.
///
/// Value-like: every operation returns a new tensor and leaves its inputs alone; the few in-place
/// updates (optimizers, parameter loading) say so in their names (`copyFrom`, `addInPlace`, ...).
/// Copies of a `Tensor` value share storage, like `at::Tensor` copies.
public struct Tensor: @unchecked Sendable {
  let handle: TensorHandle

  init(owning raw: ct_tensor) { handle = TensorHandle(raw) }

  var raw: ct_tensor { handle.raw }

  /// Sizes of each dimension.
  public var shape: [Int] {
    withUnsafeTemporaryAllocation(of: Int64.self, capacity: 16) { buffer in
      let n = Int(ct_sizes(raw, buffer.baseAddress, 16))
      if n <= 16 { return (0..<n).map { Int(buffer[$0]) } }
      var sizes = [Int64](repeating: 0, count: n)
      _ = ct_sizes(raw, &sizes, Int32(n))
      return sizes.map(Int.init)
    }
  }

  /// Element strides of each dimension.
  public var strides: [Int] {
    var values = [Int64](repeating: 0, count: rank)
    _ = ct_strides(raw, &values, Int32(values.count))
    return values.map(Int.init)
  }

  public var rank: Int { Int(ct_dim(raw)) }
  public var elementCount: Int { Int(ct_numel(raw)) }
  public var isContiguous: Bool { ct_is_contiguous(raw) }

  public var dtype: DType {
    // Every dtype the shim can create maps back; others cannot reach Swift.
    DType(rawValue: ct_dtype_of(raw))!
  }

  public var device: Device {
    var index: Int32 = 0
    let code = ct_device_of(raw, &index)
    return Device(code: code, index: index)
  }

  /// Size of one dimension; negative indices count from the end.
  public func size(_ dim: Int) -> Int {
    let s = shape
    return s[dim < 0 ? dim + s.count : dim]
  }
}

extension Tensor: CustomStringConvertible {
  public var description: String {
    var text = "Tensor(shape: \(shape), dtype: \(dtype), device: \(device)"
    if elementCount <= 16, let values = try? to(dtype: .float64).scalars(as: Double.self) {
      text += ", values: \(values)"
    }
    return text + ")"
  }
}
