import Foundation
import Testing
import Torch

@testable import Models

@Suite struct WhiteBalanceTests {
  static func encoder(whiteBalance: Bool) throws -> VisionTransformer {
    var config = VLAConfig.tiny(head: .oft, textVocabulary: 96, whiteBalance: whiteBalance).vision[0]
    config.depth = 2
    return try VisionTransformer(config)
  }

  /// A 2x2 image, uint8 [1, 2, 2, 3], and the same scene under a tinted, dimmer light (each
  /// channel scaled by 1/2, 3/4 and 1: exact in uint8 for these values).
  static let pixels: [UInt8] = [200, 40, 12, 100, 80, 20, 40, 120, 60, 60, 160, 4]
  static let tint = [0.5, 0.75, 1.0]

  static func image(_ values: [UInt8]) throws -> Tensor { try Tensor(values, shape: [1, 2, 2, 3]) }

  @Test func eachChannelIsDividedByItsImageMean() throws {
    let normalized = try Self.encoder(whiteBalance: true).normalize(Self.image(Self.pixels)).floats()  // [1, 3, 2, 2]
    for channel in 0..<3 {
      let values = (0..<4).map { Double(Self.pixels[3 * $0 + channel]) / 255 }
      let mean = values.reduce(0, +) / 4
      for (i, v) in values.enumerated() {
        // Balanced to average 0.5, then the tiny encoder's fixed normalisation (0.5, 0.25).
        let expected = (v / (2 * mean + 1e-3) - 0.5) / 0.25
        #expect(abs(Double(normalized[4 * channel + i]) - expected) < 1e-5)
      }
    }
  }

  @Test func aTintedLightNoLongerChangesTheInput() throws {
    let tinted = (0..<Self.pixels.count).map { UInt8(Double(Self.pixels[$0]) * Self.tint[$0 % 3]) }
    let balanced = try Self.encoder(whiteBalance: true)
    #expect(try maxDifference(balanced.normalize(Self.image(Self.pixels)), balanced.normalize(Self.image(tinted))) < 1e-2)
    let plain = try Self.encoder(whiteBalance: false)
    #expect(try maxDifference(plain.normalize(Self.image(Self.pixels)), plain.normalize(Self.image(tinted))) > 1)
  }

  @Test func offUnlessTheConfigSaysSo() throws {
    // OpenVLA's configs have no such key: decoded as nil, and nil is not written back.
    let openvla = try JSONEncoder().encode(ViTConfig.siglip(imageSize: 224, patchSize: 14, embedDim: 64, depth: 2, numHeads: 4))
    #expect(!String(decoding: openvla, as: UTF8.self).contains("white_balance"))
    #expect(try JSONDecoder().decode(ViTConfig.self, from: openvla).whiteBalance == nil)
    let tiny = try JSONEncoder().encode(VLAConfig.tiny(head: .oft, textVocabulary: 96, whiteBalance: true).vision[0])
    #expect(try JSONDecoder().decode(ViTConfig.self, from: tiny).whiteBalance == true)
  }
}
