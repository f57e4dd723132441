import MessagePack

/// A numpy array as openpi's `msgpack_numpy` sends it: a map
/// `{b"__ndarray__": True, b"data": raw bytes, b"dtype": "<f4", b"shape": [..]}` (C order), and
/// numpy scalars as `{b"__npgeneric__": True, b"data": value, b"dtype": ".."}`.
public struct NumpyArray: Equatable, Sendable {
  /// numpy's dtype string: byte order (`<`, `>`, `|`), kind and size, e.g. `|u1`, `<f4`.
  public let dtype: String
  public let shape: [Int]
  public let data: [UInt8]

  public struct Invalid: Error, CustomStringConvertible {
    public let description: String
  }

  public init(dtype: String, shape: [Int], data: [UInt8]) {
    self.dtype = dtype
    self.shape = shape
    self.data = data
  }

  /// A little-endian float32 array.
  public init(float32 values: [Float], shape: [Int]) {
    dtype = "<f4"
    self.shape = shape
    data = values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
  }

  /// The array in a received value; nil when the value is no array map.
  public init?(_ value: MessagePackValue) throws {
    guard value["__ndarray__"] == .bool(true) else { return nil }
    guard let dtype = value["dtype"]?.text else { throw Invalid(description: "an array without a dtype string") }
    guard case .array(let dims)? = value["shape"], let shape = Optional(dims.compactMap(\.integer)), shape.count == dims.count,
      shape.allSatisfy({ $0 >= 0 })
    else { throw Invalid(description: "an array whose shape is not a list of sizes") }
    guard case .binary(let data)? = value["data"] else { throw Invalid(description: "an array without its data bytes") }
    guard let size = Self.itemSize(dtype) else { throw Invalid(description: "unsupported dtype \(dtype) (bool, integers and floats)") }
    var count = 1
    for d in shape {
      let (product, overflow) = count.multipliedReportingOverflow(by: d)
      guard !overflow else { throw Invalid(description: "an array of shape \(shape) is too large") }
      count = product
    }
    guard count.multipliedReportingOverflow(by: size) == (data.count, false) else {
      throw Invalid(description: "an array of shape \(shape) and dtype \(dtype) needs \(count * size) bytes, got \(data.count)")
    }
    self.init(dtype: dtype, shape: shape, data: data)
  }

  /// As msgpack_numpy encodes it.
  public var messagePack: MessagePackValue {
    .map([
      .binary(Array("__ndarray__".utf8)): .bool(true), .binary(Array("data".utf8)): .binary(data),
      .binary(Array("dtype".utf8)): .string(dtype), .binary(Array("shape".utf8)): .array(shape.map { .int(Int64($0)) }),
    ])
  }

  public var count: Int { shape.reduce(1, *) }

  /// Bytes per item of the dtypes read here (bool, signed and unsigned integers, floats).
  static func itemSize(_ dtype: String) -> Int? {
    guard dtype.count >= 3, let order = dtype.first, "<>|=".contains(order) else { return nil }
    let kind = dtype.dropFirst().first!, size = Int(dtype.dropFirst(2))
    switch (kind, size) {
    case ("b", 1), ("u", 1), ("i", 1): return 1
    case ("u", let s?) where [2, 4, 8].contains(s): return s
    case ("i", let s?) where [2, 4, 8].contains(s): return s
    case ("f", let s?) where [4, 8].contains(s): return s
    default: return nil
    }
  }

  /// The items as doubles (any supported dtype, either byte order).
  public func doubles() -> [Double] {
    let size = Self.itemSize(dtype)!, kind = dtype.dropFirst().first!, big = dtype.first == ">"
    return (0..<count).map { i in
      var bits: UInt64 = 0
      for b in 0..<size {
        let byte = UInt64(data[i * size + (big ? b : size - 1 - b)])
        bits = bits << 8 | byte
      }
      switch (kind, size) {
      case ("f", 4): return Double(Float(bitPattern: UInt32(bits)))
      case ("f", _): return Double(bitPattern: bits)
      case ("i", _):
        let shift = UInt64(64 - 8 * size)
        return Double(Int64(bitPattern: bits << shift) >> Int64(shift))
      default: return Double(bits)
      }
    }
  }
}
