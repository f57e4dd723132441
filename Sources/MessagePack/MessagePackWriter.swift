/// Encodes values as MessagePack, choosing the shortest encoding of each, as the reference
/// implementations do.
public enum MessagePackWriter {
  public static func encode(_ value: MessagePackValue) -> [UInt8] {
    var out: [UInt8] = []
    write(value, into: &out)
    return out
  }

  static func write(_ value: MessagePackValue, into out: inout [UInt8]) {
    switch value {
    case .null: out.append(0xc0)
    case .bool(let b): out.append(b ? 0xc3 : 0xc2)
    case .uint(let v): writeUnsigned(v, into: &out)
    case .int(let v):
      if v >= 0 { writeUnsigned(UInt64(v), into: &out) } else { writeNegative(v, into: &out) }
    case .float(let d):
      out.append(0xcb)
      bigEndian(d.bitPattern, bytes: 8, into: &out)
    case .string(let s):
      let bytes = Array(s.utf8)
      header(bytes.count, fix: (0xa0, 31), codes: (0xd9, 0xda, 0xdb), into: &out)
      out += bytes
    case .binary(let b):
      header(b.count, fix: nil, codes: (0xc4, 0xc5, 0xc6), into: &out)
      out += b
    case .array(let items):
      header(items.count, fix: (0x90, 15), codes: (nil, 0xdc, 0xdd), into: &out)
      for item in items { write(item, into: &out) }
    case .map(let entries):
      header(entries.count, fix: (0x80, 15), codes: (nil, 0xde, 0xdf), into: &out)
      // Sorted by encoding, so one map always encodes to the same bytes.
      for (key, item) in entries.map({ (encode($0.key), $0.value) }).sorted(by: { $0.0.lexicographicallyPrecedes($1.0) }) {
        out += key
        write(item, into: &out)
      }
    case .ext(let type, let payload):
      switch payload.count {
      case 1: out.append(0xd4)
      case 2: out.append(0xd5)
      case 4: out.append(0xd6)
      case 8: out.append(0xd7)
      case 16: out.append(0xd8)
      default: header(payload.count, fix: nil, codes: (0xc7, 0xc8, 0xc9), into: &out)
      }
      out.append(UInt8(bitPattern: type))
      out += payload
    }
  }

  private static func writeUnsigned(_ v: UInt64, into out: inout [UInt8]) {
    switch v {
    case 0...0x7f: out.append(UInt8(v))
    case 0...0xff: out += [0xcc, UInt8(v)]
    case 0...0xffff: out.append(0xcd); bigEndian(v, bytes: 2, into: &out)
    case 0...0xffff_ffff: out.append(0xce); bigEndian(v, bytes: 4, into: &out)
    default: out.append(0xcf); bigEndian(v, bytes: 8, into: &out)
    }
  }

  private static func writeNegative(_ v: Int64, into out: inout [UInt8]) {
    let bits = UInt64(bitPattern: v)
    switch v {
    case -32 ..< 0: out.append(UInt8(truncatingIfNeeded: v))
    case -128 ..< 0: out += [0xd0, UInt8(truncatingIfNeeded: v)]
    case -32768 ..< 0: out.append(0xd1); bigEndian(bits, bytes: 2, into: &out)
    case -2_147_483_648 ..< 0: out.append(0xd2); bigEndian(bits, bytes: 4, into: &out)
    default: out.append(0xd3); bigEndian(bits, bytes: 8, into: &out)
    }
  }

  /// A length header: the fix form when it fits, else the 8-, 16- or 32-bit form.
  private static func header(_ count: Int, fix: (base: UInt8, max: Int)?, codes: (UInt8?, UInt8, UInt8), into out: inout [UInt8]) {
    if let fix, count <= fix.max {
      out.append(fix.base | UInt8(count))
    } else if let c8 = codes.0, count <= 0xff {
      out += [c8, UInt8(count)]
    } else if count <= 0xffff {
      out.append(codes.1)
      bigEndian(UInt64(count), bytes: 2, into: &out)
    } else {
      out.append(codes.2)
      bigEndian(UInt64(count), bytes: 4, into: &out)
    }
  }

  static func bigEndian(_ v: UInt64, bytes: Int, into out: inout [UInt8]) {
    for i in stride(from: bytes - 1, through: 0, by: -1) { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
  }
}
