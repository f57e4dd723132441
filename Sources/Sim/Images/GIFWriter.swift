import Foundation

/// Writes looping animated GIFs from RGB frames, quantised to a fixed 6x7x6 colour cube (252
/// colours), LZW-compressed as the format requires.
public struct GIFWriter {
  public let width: Int
  public let height: Int
  /// Delay between frames in hundredths of a second.
  public let delay: Int
  private var data = Data()

  public init(width: Int, height: Int, delay: Int = 8) {
    self.width = width
    self.height = height
    self.delay = delay
    data.append(contentsOf: Array("GIF89a".utf8))
    appendShort(width)
    appendShort(height)
    data.append(contentsOf: [0xF7, 0, 0])  // global colour table of 256 entries, 8 bits
    for i in 0..<256 {
      let (r, g, b) = Self.paletteColor(i)
      data.append(contentsOf: [r, g, b])
    }
    // NETSCAPE2.0 extension: loop forever.
    data.append(contentsOf: [0x21, 0xFF, 0x0B] + Array("NETSCAPE2.0".utf8) + [3, 1, 0, 0, 0])
  }

  /// Appends one frame: height * width * 3 bytes, row-major, top row first.
  public mutating func addFrame(_ pixels: UnsafeRawBufferPointer) {
    precondition(pixels.count == width * height * 3, "GIF frame: \(pixels.count) bytes for \(width)x\(height) RGB")
    data.append(contentsOf: [0x21, 0xF9, 4, 0])
    appendShort(delay)
    data.append(contentsOf: [0, 0])
    data.append(0x2C)
    appendShort(0); appendShort(0); appendShort(width); appendShort(height)
    data.append(0)
    var indices = [UInt8](repeating: 0, count: width * height)
    for p in 0..<(width * height) {
      indices[p] = Self.paletteIndex(pixels[3 * p], pixels[3 * p + 1], pixels[3 * p + 2])
    }
    data.append(8)  // LZW minimum code size
    let compressed = Self.lzw(indices)
    var offset = 0
    while offset < compressed.count {
      let n = min(255, compressed.count - offset)
      data.append(UInt8(n))
      data.append(contentsOf: compressed[offset..<(offset + n)])
      offset += n
    }
    data.append(0)
  }

  public func finished() -> Data { data + Data([0x3B]) }

  public func write(to path: String) throws { try finished().write(to: URL(fileURLWithPath: path)) }

  private mutating func appendShort(_ v: Int) { data.append(contentsOf: [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)]) }

  // 6 levels of red, 7 of green, 6 of blue.
  static func paletteColor(_ i: Int) -> (UInt8, UInt8, UInt8) {
    guard i < 252 else { return (0, 0, 0) }
    let r = i / 42, g = (i / 6) % 7, b = i % 6
    return (UInt8(r * 51), UInt8(g * 255 / 6), UInt8(b * 51))
  }

  static func paletteIndex(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
    let ri = (Int(r) * 5 + 127) / 255, gi = (Int(g) * 6 + 127) / 255, bi = (Int(b) * 5 + 127) / 255
    return UInt8(ri * 42 + gi * 6 + bi)
  }

  /// GIF-flavoured LZW: codes from 9 bits up to 12, a clear code when the table is full.
  static func lzw(_ indices: [UInt8]) -> [UInt8] {
    let clear = 256, end = 257
    var table: [Int: Int] = [:]  // (prefix code << 8 | byte) -> code
    var nextCode = 258, codeSize = 9
    var out: [UInt8] = []
    var bitBuffer = 0, bitCount = 0
    func emit(_ code: Int) {
      bitBuffer |= code << bitCount
      bitCount += codeSize
      while bitCount >= 8 {
        out.append(UInt8(bitBuffer & 0xFF))
        bitBuffer >>= 8
        bitCount -= 8
      }
    }
    emit(clear)
    guard var prefix = indices.first.map(Int.init) else { emit(end); return out }
    for byte in indices.dropFirst() {
      let key = prefix << 8 | Int(byte)
      if let code = table[key] {
        prefix = code
        continue
      }
      emit(prefix)
      if nextCode < 4096 {
        table[key] = nextCode
        nextCode += 1
        // The decoder widens one code later than the encoder adds it.
        if nextCode > (1 << codeSize) && codeSize < 12 { codeSize += 1 }
      } else {
        emit(clear)
        table.removeAll(keepingCapacity: true)
        nextCode = 258
        codeSize = 9
      }
      prefix = Int(byte)
    }
    emit(prefix)
    emit(end)
    if bitCount > 0 { out.append(UInt8(bitBuffer & 0xFF)) }
    return out
  }
}
