/// One MessagePack value (https://github.com/msgpack/msgpack/blob/master/spec.md): what the
/// policy server receives from robots and sends back.
public enum MessagePackValue: Hashable, Sendable {
  case null
  case bool(Bool)
  case int(Int64)
  case uint(UInt64)
  case float(Double)
  case string(String)
  case binary([UInt8])
  case array([MessagePackValue])
  case map([MessagePackValue: MessagePackValue])
  /// An extension type: its type code and payload.
  case ext(Int8, [UInt8])
}

extension MessagePackValue {
  /// The entry under a key spelled as a string or as bytes (Python's msgpack packs `b"..."`
  /// keys as binary, `"..."` keys as strings).
  public subscript(key: String) -> MessagePackValue? {
    guard case .map(let entries) = self else { return nil }
    return entries[.string(key)] ?? entries[.binary(Array(key.utf8))]
  }

  /// An integer of either signedness that fits an Int.
  public var integer: Int? {
    switch self {
    case .int(let v): return Int(exactly: v)
    case .uint(let v): return Int(exactly: v)
    default: return nil
    }
  }

  /// A string, or bytes that are UTF-8.
  public var text: String? {
    switch self {
    case .string(let s): return s
    case .binary(let b): return String(validating: b, as: UTF8.self)
    default: return nil
    }
  }

  /// What kind of value this is, for error messages (never its contents).
  public var kind: String {
    switch self {
    case .null: "nil"
    case .bool: "a boolean"
    case .int, .uint: "an integer"
    case .float: "a float"
    case .string: "a string"
    case .binary: "bytes"
    case .array: "an array"
    case .map: "a map"
    case .ext: "an extension value"
    }
  }
}
