/// Decodes one MessagePack value from untrusted bytes. Every length is checked against the
/// bytes that remain before anything is allocated, and nesting is limited, so a hostile message
/// costs at most its own size and a bounded stack.
public struct MessagePackReader {
  public struct Malformed: Error, CustomStringConvertible {
    public let description: String
  }

  /// The deepest nesting of arrays and maps accepted.
  public static let maxDepth = 32

  private let bytes: [UInt8]
  private var at = 0

  /// The value the bytes hold; trailing bytes are an error.
  public static func decode(_ bytes: [UInt8]) throws -> MessagePackValue {
    var reader = MessagePackReader(bytes: bytes)
    let value = try reader.value(depth: 0)
    guard reader.at == bytes.count else { throw Malformed(description: "\(bytes.count - reader.at) bytes after the value") }
    return value
  }

  private init(bytes: [UInt8]) { self.bytes = bytes }

  private mutating func value(depth: Int) throws -> MessagePackValue {
    guard depth <= Self.maxDepth else { throw Malformed(description: "nested deeper than \(Self.maxDepth) levels") }
    let code = try byte()
    switch code {
    case 0x00...0x7f: return .uint(UInt64(code))
    case 0x80...0x8f: return try map(Int(code & 0x0f), depth: depth)
    case 0x90...0x9f: return try array(Int(code & 0x0f), depth: depth)
    case 0xa0...0xbf: return try string(Int(code & 0x1f))
    case 0xc0: return .null
    case 0xc2: return .bool(false)
    case 0xc3: return .bool(true)
    case 0xc4: return .binary(try take(Int(try unsigned(1))))
    case 0xc5: return .binary(try take(Int(try unsigned(2))))
    case 0xc6: return .binary(try take(Int(try unsigned(4))))
    case 0xc7, 0xc8, 0xc9:
      let count = Int(try unsigned(code == 0xc7 ? 1 : code == 0xc8 ? 2 : 4))
      let type = Int8(bitPattern: try byte())
      return .ext(type, try take(count))
    case 0xca: return .float(Double(Float(bitPattern: UInt32(try unsigned(4)))))
    case 0xcb: return .float(Double(bitPattern: try unsigned(8)))
    case 0xcc: return .uint(try unsigned(1))
    case 0xcd: return .uint(try unsigned(2))
    case 0xce: return .uint(try unsigned(4))
    case 0xcf: return .uint(try unsigned(8))
    case 0xd0: return .int(Int64(Int8(truncatingIfNeeded: try unsigned(1))))
    case 0xd1: return .int(Int64(Int16(truncatingIfNeeded: try unsigned(2))))
    case 0xd2: return .int(Int64(Int32(truncatingIfNeeded: try unsigned(4))))
    case 0xd3: return .int(Int64(bitPattern: try unsigned(8)))
    case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
      let type = Int8(bitPattern: try byte())
      return .ext(type, try take(1 << Int(code - 0xd4)))
    case 0xd9: return try string(Int(try unsigned(1)))
    case 0xda: return try string(Int(try unsigned(2)))
    case 0xdb: return try string(Int(try unsigned(4)))
    case 0xdc: return try array(Int(try unsigned(2)), depth: depth)
    case 0xdd: return try array(Int(try unsigned(4)), depth: depth)
    case 0xde: return try map(Int(try unsigned(2)), depth: depth)
    case 0xdf: return try map(Int(try unsigned(4)), depth: depth)
    case 0xe0...0xff: return .int(Int64(Int8(bitPattern: code)))
    default: throw Malformed(description: "byte 0x\(String(code, radix: 16)) at offset \(at - 1) is not a MessagePack type")
    }
  }

  private mutating func array(_ count: Int, depth: Int) throws -> MessagePackValue {
    try need(count, "an array of \(count) items")  // each item takes at least one byte
    var items: [MessagePackValue] = []
    items.reserveCapacity(count)
    for _ in 0..<count { items.append(try value(depth: depth + 1)) }
    return .array(items)
  }

  private mutating func map(_ count: Int, depth: Int) throws -> MessagePackValue {
    try need(2 * count, "a map of \(count) entries")
    var entries: [MessagePackValue: MessagePackValue] = [:]
    for _ in 0..<count {
      let key = try value(depth: depth + 1)
      guard entries.updateValue(try value(depth: depth + 1), forKey: key) == nil else { throw Malformed(description: "a map repeats a key") }
    }
    return .map(entries)
  }

  private mutating func string(_ count: Int) throws -> MessagePackValue {
    guard let s = String(validating: try take(count), as: UTF8.self) else { throw Malformed(description: "a string that is not UTF-8") }
    return .string(s)
  }

  private mutating func need(_ count: Int, _ what: String) throws {
    guard count <= bytes.count - at else { throw Malformed(description: "\(what) needs more than the \(bytes.count - at) bytes left") }
  }

  private mutating func byte() throws -> UInt8 {
    try need(1, "a value")
    defer { at += 1 }
    return bytes[at]
  }

  private mutating func take(_ count: Int) throws -> [UInt8] {
    try need(count, "\(count) bytes")
    defer { at += count }
    return Array(bytes[at..<(at + count)])
  }

  private mutating func unsigned(_ width: Int) throws -> UInt64 {
    try need(width, "a \(8 * width)-bit number")
    var v: UInt64 = 0
    for i in 0..<width { v = v << 8 | UInt64(bytes[at + i]) }
    at += width
    return v
  }
}
