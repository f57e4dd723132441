import CTorch

// Elementwise math. Operators broadcast like PyTorch and throw on incompatible shapes, so one
// `try` covers a whole expression: `let y = try (a + b) * 0.5`.

extension Tensor {
  func unary(_ op: ct_unary_op, _ name: String) throws -> Tensor {
    try wrap(ct_unary(Int32(op.rawValue), raw), "\(name) of \(shape)")
  }

  func binary(_ op: ct_binary_op, _ other: Tensor, _ name: String) throws -> Tensor {
    try wrap(ct_binary(Int32(op.rawValue), raw, other.raw), "\(name)(\(shape), \(other.shape))")
  }

  func binary(_ op: ct_binary_op, _ scalar: Double, _ name: String) throws -> Tensor {
    try wrap(ct_binary_scalar(Int32(op.rawValue), raw, scalar), "\(name)(\(shape), \(scalar))")
  }

  func binary(_ op: ct_binary_op, integer: Int, _ name: String) throws -> Tensor {
    try wrap(ct_binary_int(Int32(op.rawValue), raw, Int64(integer)), "\(name)(\(shape), \(integer))")
  }

  func binary(_ scalar: Double, _ op: ct_binary_op, _ name: String) throws -> Tensor {
    try wrap(ct_scalar_binary(Int32(op.rawValue), scalar, raw), "\(name)(\(scalar), \(shape))")
  }

  public static func + (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_ADD, b, "add") }
  public static func - (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_SUB, b, "sub") }
  public static func * (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_MUL, b, "mul") }
  public static func / (a: Tensor, b: Tensor) throws -> Tensor { try a.binary(CT_DIV, b, "div") }
  public static func + (a: Tensor, s: Double) throws -> Tensor { try a.binary(CT_ADD, s, "add") }
  public static func - (a: Tensor, s: Double) throws -> Tensor { try a.binary(CT_SUB, s, "sub") }
  public static func * (a: Tensor, s: Double) throws -> Tensor { try a.binary(CT_MUL, s, "mul") }
  public static func / (a: Tensor, s: Double) throws -> Tensor { try a.binary(CT_DIV, s, "div") }
  public static func + (s: Double, a: Tensor) throws -> Tensor { try a.binary(s, CT_ADD, "add") }
  // Integer scalars keep integer tensors integer (token ids, positions), like Python ints.
  public static func + (a: Tensor, s: Int) throws -> Tensor { try a.binary(CT_ADD, integer: s, "add") }
  public static func - (a: Tensor, s: Int) throws -> Tensor { try a.binary(CT_SUB, integer: s, "sub") }
  public static func * (a: Tensor, s: Int) throws -> Tensor { try a.binary(CT_MUL, integer: s, "mul") }
  public static func - (s: Double, a: Tensor) throws -> Tensor { try a.binary(s, CT_SUB, "sub") }
  public static func * (s: Double, a: Tensor) throws -> Tensor { try a.binary(s, CT_MUL, "mul") }
  public static func / (s: Double, a: Tensor) throws -> Tensor { try a.binary(s, CT_DIV, "div") }
  public static prefix func - (a: Tensor) throws -> Tensor { try a.unary(CT_NEG, "neg") }

  public func pow(_ exponent: Double) throws -> Tensor { try binary(CT_POW, exponent, "pow") }
  public func pow(_ exponent: Tensor) throws -> Tensor { try binary(CT_POW, exponent, "pow") }
  public func maximum(_ other: Tensor) throws -> Tensor { try binary(CT_MAXIMUM, other, "maximum") }
  public func minimum(_ other: Tensor) throws -> Tensor { try binary(CT_MINIMUM, other, "minimum") }
  public func remainder(_ s: Double) throws -> Tensor { try binary(CT_REMAINDER, s, "remainder") }

  // Comparisons and logic: bool tensors.
  public func eq(_ other: Tensor) throws -> Tensor { try binary(CT_EQ, other, "eq") }
  public func ne(_ other: Tensor) throws -> Tensor { try binary(CT_NE, other, "ne") }
  public func lt(_ other: Tensor) throws -> Tensor { try binary(CT_LT, other, "lt") }
  public func le(_ other: Tensor) throws -> Tensor { try binary(CT_LE, other, "le") }
  public func gt(_ other: Tensor) throws -> Tensor { try binary(CT_GT, other, "gt") }
  public func ge(_ other: Tensor) throws -> Tensor { try binary(CT_GE, other, "ge") }
  public func eq(_ s: Double) throws -> Tensor { try binary(CT_EQ, s, "eq") }
  public func ne(_ s: Double) throws -> Tensor { try binary(CT_NE, s, "ne") }
  public func lt(_ s: Double) throws -> Tensor { try binary(CT_LT, s, "lt") }
  public func le(_ s: Double) throws -> Tensor { try binary(CT_LE, s, "le") }
  public func gt(_ s: Double) throws -> Tensor { try binary(CT_GT, s, "gt") }
  public func ge(_ s: Double) throws -> Tensor { try binary(CT_GE, s, "ge") }
  public func logicalAnd(_ other: Tensor) throws -> Tensor { try binary(CT_LOGICAL_AND, other, "logicalAnd") }
  public func logicalOr(_ other: Tensor) throws -> Tensor { try binary(CT_LOGICAL_OR, other, "logicalOr") }
  public func logicalNot() throws -> Tensor { try unary(CT_LOGICAL_NOT, "logicalNot") }
  public func isNaN() throws -> Tensor { try unary(CT_ISNAN, "isNaN") }
  public func isFinite() throws -> Tensor { try unary(CT_ISFINITE, "isFinite") }

  public func exp() throws -> Tensor { try unary(CT_EXP, "exp") }
  public func log() throws -> Tensor { try unary(CT_LOG, "log") }
  public func sqrt() throws -> Tensor { try unary(CT_SQRT, "sqrt") }
  public func rsqrt() throws -> Tensor { try unary(CT_RSQRT, "rsqrt") }
  public func abs() throws -> Tensor { try unary(CT_ABS, "abs") }
  public func tanh() throws -> Tensor { try unary(CT_TANH, "tanh") }
  public func sigmoid() throws -> Tensor { try unary(CT_SIGMOID, "sigmoid") }
  public func relu() throws -> Tensor { try unary(CT_RELU, "relu") }
  /// GELU with the exact erf form (`approximateTanh` for the tanh approximation).
  public func gelu(approximateTanh: Bool = false) throws -> Tensor {
    try approximateTanh ? unary(CT_GELU_TANH, "gelu(tanh)") : unary(CT_GELU, "gelu")
  }
  public func silu() throws -> Tensor { try unary(CT_SILU, "silu") }
  public func sin() throws -> Tensor { try unary(CT_SIN, "sin") }
  public func cos() throws -> Tensor { try unary(CT_COS, "cos") }
  public func sign() throws -> Tensor { try unary(CT_SIGN, "sign") }
  public func floor() throws -> Tensor { try unary(CT_FLOOR, "floor") }
  public func ceil() throws -> Tensor { try unary(CT_CEIL, "ceil") }
  public func rounded() throws -> Tensor { try unary(CT_ROUND, "round") }
  public func reciprocal() throws -> Tensor { try unary(CT_RECIPROCAL, "reciprocal") }
  public func square() throws -> Tensor { try unary(CT_SQUARE, "square") }
  public func log1p() throws -> Tensor { try unary(CT_LOG1P, "log1p") }
  public func expm1() throws -> Tensor { try unary(CT_EXPM1, "expm1") }
  public func erf() throws -> Tensor { try unary(CT_ERF, "erf") }

  /// Clamps into [min, max]; either bound may be omitted.
  public func clamp(min: Double? = nil, max: Double? = nil) throws -> Tensor {
    try wrap(ct_clamp(raw, min ?? 0, max ?? 0, min != nil, max != nil), "clamp")
  }

  /// Matrix product with broadcasting over batch dimensions.
  public func matmul(_ other: Tensor) throws -> Tensor {
    try wrap(ct_matmul(raw, other.raw), "matmul(\(shape), \(other.shape))")
  }

  /// Batched matrix product of [B, N, M] and [B, M, P].
  public func bmm(_ other: Tensor) throws -> Tensor {
    try wrap(ct_bmm(raw, other.raw), "bmm(\(shape), \(other.shape))")
  }
}
