import CTorch

/// Element types a tensor can hold. Raw values are the shim's `ct_dtype` codes.
public enum DType: Int32, Sendable, CaseIterable, CustomStringConvertible {
  case float32 = 0, float64 = 1, bfloat16 = 2, float16 = 3
  case int64 = 4, int32 = 5, int16 = 6, int8 = 7, uint8 = 8, bool = 9

  /// Bytes per element.
  public var byteSize: Int {
    switch self {
    case .float64, .int64: 8
    case .float32, .int32: 4
    case .bfloat16, .float16, .int16: 2
    case .int8, .uint8, .bool: 1
    }
  }

  public var isFloatingPoint: Bool {
    switch self {
    case .float32, .float64, .bfloat16, .float16: true
    default: false
    }
  }

  public var description: String {
    switch self {
    case .float32: "float32"
    case .float64: "float64"
    case .bfloat16: "bfloat16"
    case .float16: "float16"
    case .int64: "int64"
    case .int32: "int32"
    case .int16: "int16"
    case .int8: "int8"
    case .uint8: "uint8"
    case .bool: "bool"
    }
  }
}

/// Swift scalar types that map one-to-one onto a tensor dtype (bfloat16 has no Swift type:
/// create float32 tensors and convert).
public protocol TensorScalar: Sendable {
  static var dtype: DType { get }
}

extension Float: TensorScalar { public static var dtype: DType { .float32 } }
extension Double: TensorScalar { public static var dtype: DType { .float64 } }
extension Int64: TensorScalar { public static var dtype: DType { .int64 } }
extension Int32: TensorScalar { public static var dtype: DType { .int32 } }
extension Int16: TensorScalar { public static var dtype: DType { .int16 } }
extension Int8: TensorScalar { public static var dtype: DType { .int8 } }
extension UInt8: TensorScalar { public static var dtype: DType { .uint8 } }
extension Bool: TensorScalar { public static var dtype: DType { .bool } }
#if arch(x86_64) || arch(arm64)
extension Float16: TensorScalar { public static var dtype: DType { .float16 } }
#endif
