import CSentencePieceLoader
import Foundation

/// A SentencePiece tokenizer (the Llama-2 tokenizer of real checkpoints, or the tiny
/// configuration's own model trained on the simulator's instructions).
public final class SentencePieceTokenizer: @unchecked Sendable {
  // @unchecked: the processor is read-only after loading; SentencePiece encodes concurrently.
  private let api: UnsafePointer<spm_api>
  private let processor: OpaquePointer
  /// The serialized model, written next to checkpoints as tokenizer.model.
  public let modelBytes: Data

  /// The SentencePiece library, loaded once into its own symbol scope.
  static func library() throws -> UnsafePointer<spm_api> {
    var error = [CChar](repeating: 0, count: 1024)
    guard let api = spm_open(&error, Int32(error.count)) else { throw ModelError.checkpoint(String(cBuffer: error)) }
    return api
  }

  public init(modelBytes: Data) throws {
    api = try Self.library()
    var error = [CChar](repeating: 0, count: 512)
    let load = api.pointee.load!
    let loaded = modelBytes.withUnsafeBytes { bytes in
      load(bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count, &error, Int32(error.count))
    }
    guard let loaded else { throw ModelError.checkpoint("cannot load the SentencePiece model: \(String(cBuffer: error))") }
    processor = loaded
    self.modelBytes = modelBytes
  }

  public convenience init(path: String) throws {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ModelError.checkpoint("cannot read tokenizer model \(path)")
    }
    try self.init(modelBytes: data)
  }

  deinit { api.pointee.free(processor) }

  public var vocabularySize: Int { Int(api.pointee.vocab_size(processor)) }
  public var bosID: Int { Int(api.pointee.bos_id(processor)) }
  public var eosID: Int { Int(api.pointee.eos_id(processor)) }
  /// The padding id (falls back to EOS when the model defines none, as Llama's does).
  public var padID: Int { api.pointee.pad_id(processor) >= 0 ? Int(api.pointee.pad_id(processor)) : eosID }

  /// Token ids of `text`, without BOS.
  public func encode(_ text: String) throws -> [Int] {
    var ids = [Int32](repeating: 0, count: 256)
    var count = api.pointee.encode(processor, text, &ids, Int32(ids.count))
    if count > ids.count {
      ids = [Int32](repeating: 0, count: Int(count))
      count = api.pointee.encode(processor, text, &ids, Int32(ids.count))
    }
    guard count >= 0 else { throw ModelError.input("SentencePiece could not encode \"\(text)\"") }
    return ids.prefix(Int(count)).map(Int.init)
  }

  public func decode(_ ids: [Int]) throws -> String {
    let values = ids.map(Int32.init)
    var out = [CChar](repeating: 0, count: 4 * ids.count + 64)
    guard api.pointee.decode(processor, values, Int32(values.count), &out, Int32(out.count)) >= 0 else {
      throw ModelError.input("SentencePiece could not decode \(ids)")
    }
    return String(cBuffer: out)
  }

  /// Trains a BPE model on `sentences`; deterministic for the same input.
  public static func train(sentences: [String], vocabularySize: Int) throws -> SentencePieceTokenizer {
    // Identity normalisation keeps text (newlines included) exactly, as Llama's tokenizer does.
    let flags = "--model_type=bpe --vocab_size=\(vocabularySize) --character_coverage=1.0 --pad_id=3 " +
      "--normalization_rule_name=identity --remove_extra_whitespaces=false " +
      "--hard_vocab_limit=false --split_digits=true --num_threads=1 --minloglevel=2"
    var error = [CChar](repeating: 0, count: 512)
    var length = 0
    let pointers = sentences.map { strdup($0) }
    defer { pointers.forEach { free($0) } }
    let constPointers = pointers.map { UnsafePointer($0) }
    let api = try library()
    guard let bytes = api.pointee.train(constPointers, Int32(sentences.count), flags, &length, &error, Int32(error.count)) else {
      throw ModelError.invalidConfig("SentencePiece training failed: \(String(cBuffer: error))")
    }
    defer { api.pointee.free_bytes(bytes) }
    return try SentencePieceTokenizer(modelBytes: Data(bytes: bytes, count: length))
  }
}

extension String {
  /// The NUL-terminated text in a C character buffer.
  init(cBuffer: [CChar]) {
    self.init(decoding: cBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
