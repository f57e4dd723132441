import Foundation

/// Writes 8-bit RGB PNG files. The image data is stored in uncompressed deflate blocks (a valid
/// zlib stream that needs no compression library): files are larger, never wrong.
public enum PNGWriter {
  /// `pixels`: height * width * 3 bytes, row-major, top row first.
  public static func encode(width: Int, height: Int, pixels: UnsafeRawBufferPointer) -> Data {
    precondition(pixels.count == width * height * 3, "PNG: \(pixels.count) bytes for \(width)x\(height) RGB")
    var raw = Data(capacity: height * (1 + width * 3))
    for y in 0..<height {
      raw.append(0)  // filter: none
      raw.append(contentsOf: pixels[(y * width * 3)..<((y + 1) * width * 3)])
    }
    var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    var header = Data()
    header.appendBigEndian(UInt32(width))
    header.appendBigEndian(UInt32(height))
    header.append(contentsOf: [8, 2, 0, 0, 0])  // 8-bit, RGB, deflate, no filter, no interlace
    png.appendChunk("IHDR", header)
    png.appendChunk("IDAT", zlibStored(raw))
    png.appendChunk("IEND", Data())
    return png
  }

  public static func write(width: Int, height: Int, pixels: UnsafeRawBufferPointer, to path: String) throws {
    try encode(width: width, height: height, pixels: pixels).write(to: URL(fileURLWithPath: path))
  }

  /// zlib header, stored deflate blocks of at most 65535 bytes, Adler-32.
  static func zlibStored(_ data: Data) -> Data {
    var out = Data([0x78, 0x01])
    var offset = 0
    repeat {
      let length = min(65535, data.count - offset)
      let final: UInt8 = offset + length == data.count ? 1 : 0
      out.append(final)
      out.append(UInt8(length & 0xFF)); out.append(UInt8(length >> 8))
      out.append(UInt8(~length & 0xFF)); out.append(UInt8((~length >> 8) & 0xFF))
      out.append(data[(data.startIndex + offset)..<(data.startIndex + offset + length)])
      offset += length
    } while offset < data.count
    var a: UInt32 = 1, b: UInt32 = 0
    for byte in data {
      a = (a + UInt32(byte)) % 65521
      b = (b + a) % 65521
    }
    out.appendBigEndian(b << 16 | a)
    return out
  }
}

extension Data {
  mutating func appendBigEndian(_ value: UInt32) {
    Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
  }

  mutating func appendChunk(_ type: String, _ body: Data) {
    appendBigEndian(UInt32(body.count))
    let typed = Data(type.utf8) + body
    append(typed)
    appendBigEndian(CRC32.checksum(typed))
  }
}

/// CRC-32 (IEEE 802.3), as PNG chunks use.
enum CRC32 {
  static let table: [UInt32] = (0..<256).map { n in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
  }

  static func checksum(_ data: Data) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for byte in data { c = table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
    return c ^ 0xFFFF_FFFF
  }
}
