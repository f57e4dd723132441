import Testing
import Torch

/// Neural-network blocks against torch.nn.functional / torch's own multi-head attention, with
/// gradients for the input and every parameter.
@Suite struct BlockReferenceTests {
  static let g = try! Generator(seed: 7)
  static func randn(_ shape: [Int]) -> Tensor { try! Tensor.randn(shape, generator: g) }

  /// A block case: inputs = [x] + the block's parameters in `parameterNames` order; the block
  /// gets those parameter values, and gradients are compared for x and each parameter.
  static func block<M: Module>(
    _ name: String, _ make: @escaping () throws -> M, x: Tensor, extra: [Tensor] = [],
    python: String, tolerance: Double = 1e-5, forward: @escaping (M, Tensor, [Tensor]) throws -> Tensor
  ) -> ReferenceCase {
    let probe = try! make()
    let named = probe.namedParameters()
    let parameters = named.map { randn($0.tensor.shape) }
    let inputs = [x] + parameters + extra
    let grad = [true] + parameters.map { _ in true } + extra.map { _ in false }
    return ReferenceCase(name: name, inputs: inputs, grad: grad, python: python, swift: { x in
      let module = try make()
      var values: [String: Tensor] = [:]
      for (i, entry) in named.enumerated() { values[entry.name] = x[1 + i] }
      try module.loadParameters(values)
      let parametersByName = Dictionary(uniqueKeysWithValues: module.namedParameters().map { ($0.name, $0.tensor) })
      let output = try forward(module, x[0], Array(x.suffix(extra.count)))
      return (output, [x[0]] + named.map { parametersByName[$0.name]! } + Array(x.suffix(extra.count)))
    }, tolerance: tolerance)
  }

  /// Attention sums in another order when the linked libtorch has a fused kernel (2.x).
  static let attentionTolerance = 1e-4

  static var cases: [ReferenceCase] {
    let x = randn([2, 5, 8])
    let valid = try! Tensor([true, true, true, true, true, true, true, true, false, false], shape: [2, 5])
    return [
      block("linear", { try Linear(8, 6) }, x: x, python: "F.linear(x[0], x[1], x[2])") { m, x, _ in try m(x) },
      block("linear_nobias", { try Linear(8, 3, bias: false) }, x: x, python: "F.linear(x[0], x[1])") { m, x, _ in try m(x) },
      block("layer_norm", { try LayerNorm(8) }, x: x, python: "F.layer_norm(x[0], (8,), x[1], x[2])") { m, x, _ in try m(x) },
      block("rms_norm", { try RMSNorm(8, eps: 1e-6) }, x: x, python: "rms_norm(x[0], x[1], 1e-6)") { m, x, _ in try m(x) },
      block("conv2d_patch", { try Conv2d(3, 4, kernel: (2, 2), stride: (2, 2)) }, x: randn([2, 3, 6, 6]),
            python: "F.conv2d(x[0], x[1], x[2], stride=2)") { m, x, _ in try m(x) },
      block("conv2d_padded", { try Conv2d(3, 2, kernel: (3, 3), padding: (1, 1)) }, x: randn([1, 3, 5, 5]),
            python: "F.conv2d(x[0], x[1], x[2], padding=1)") { m, x, _ in try m(x) },
      // Embedding: x is the float table gradient-free probe; ids come as the extra input.
      ReferenceCase(
        name: "embedding", inputs: [randn([10, 4]), try! Tensor([Int64(3), 0, 3, 9, 1, 2], shape: [2, 3])],
        grad: [true, false], python: "F.embedding(x[1], x[0])",
        swift: { x in
          let table = try Embedding(10, 4)
          try table.loadParameters(["weight": x[0]])
          return (try table(x[1]), [table.weight, x[1]])
        }),
      block("mha_bidirectional", { try MultiHeadAttention(dim: 8, heads: 2) }, x: x,
            python: "mha(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], 2)",
            tolerance: attentionTolerance) { m, x, _ in try m(x) },
      block("mha_causal", { try MultiHeadAttention(dim: 8, heads: 2) }, x: x,
            python: "mha(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], 2, causal=True)",
            tolerance: attentionTolerance) { m, x, _ in
        try m(x, causal: true)
      },
      block("mha_padding", { try MultiHeadAttention(dim: 8, heads: 4) }, x: x, extra: [valid],
            python: "mha(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], 4, valid=x[9])",
            tolerance: attentionTolerance) { m, x, extra in
        try m(x, mask: Attention.paddingMask(valid: extra[0]))
      },
      block("mha_padding_causal", { try MultiHeadAttention(dim: 8, heads: 2) }, x: x, extra: [valid],
            python: "mha(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], 2, causal=True, valid=x[9])",
            tolerance: attentionTolerance) { m, x, extra in
        try m(x, mask: Attention.paddingMask(valid: extra[0]), causal: true)
      },
      block("gqa_causal", { try MultiHeadAttention(dim: 8, heads: 4, kvHeads: 2, bias: false) }, x: x,
            python: "gqa(x[0], x[1], x[2], x[3], x[4], 4, 2, True)",
            tolerance: attentionTolerance) { m, x, _ in try m(x, causal: true) },
    ]
  }

  @Test func blocksMatchPyTorch() throws {
    try expectMatches(runReference(Self.cases))
  }

  /// A KV-cache style query block (T < S) sees keys up to its own position: the last T rows of
  /// the full causal attention.
  @Test func causalMaskAlignsQueriesToTheEnd() throws {
    let mask = try Attention.causalMask(queries: 2, keys: 4)
    #expect(try mask.to(dtype: .int64).ints() == [1, 1, 1, 0, 1, 1, 1, 1])
    let q = Self.randn([1, 1, 4, 8]), k = Self.randn([1, 1, 4, 8]), v = Self.randn([1, 1, 4, 8])
    let full = try Attention.scaledDotProduct(query: q, key: k, value: v, causal: true)
    let tail = try Attention.scaledDotProduct(query: q.slice(dim: 2, start: 2), key: k, value: v, causal: true)
    #expect(try maxRelativeError(tail, full.slice(dim: 2, start: 2)) < 1e-6)
  }

  /// Parameter names follow the module tree, like PyTorch state_dict keys.
  @Test func namedParameterTree() throws {
    final class Layer: Module {
      let selfAttention = try! MultiHeadAttention(dim: 4, heads: 2)
      let norm = try! RMSNorm(4)
      var children: [(name: String, module: any Module)] { [("self_attn", selfAttention), ("input_layernorm", norm)] }
    }
    final class Stack: Module {
      let layers = ModuleList([Layer(), Layer(), Layer(), Layer()])
      var children: [(name: String, module: any Module)] { [("layers", layers)] }
    }
    let names = Stack().namedParameters().map(\.name)
    #expect(names.count == 4 * 9)
    #expect(names.contains("layers.3.self_attn.q_proj.weight"))
    #expect(names.contains("layers.0.input_layernorm.weight"))
    #expect(Set(names).count == names.count)
  }

  @Test func loadParametersNamesWhatIsWrong() throws {
    let linear = try Linear(3, 2)
    #expect(throws: TorchError.self) { try linear.loadParameters(["weight": Tensor.zeros([2, 3])]) }
    do {
      try linear.loadParameters(["weight": Tensor.zeros([2, 4]), "bias": Tensor.zeros([2])])
      Issue.record("a mis-shaped tensor was accepted")
    } catch let error as TorchError {
      #expect(error.message.contains("weight") && error.message.contains("[2, 4]"))
    }
    do {
      try linear.loadParameters(["weight": Tensor.zeros([2, 3]), "bias": Tensor.zeros([2]), "extra": Tensor.zeros([1])])
      Issue.record("an unexpected tensor was accepted")
    } catch let error as TorchError {
      #expect(error.message.contains("extra"))
    }
  }

  @Test func dropoutScalesKeptElements() throws {
    let x = try Tensor.ones([10_000])
    let y = try x.dropout(0.25, training: true)
    let values = try y.floats()
    let kept = values.filter { $0 != 0 }
    #expect(kept.allSatisfy { Swift.abs($0 - 1 / 0.75) < 1e-6 })
    #expect(Swift.abs(Double(kept.count) / 10_000 - 0.75) < 0.03)
    #expect(try x.dropout(0.25, training: false).floats() == [Float](repeating: 1, count: 10_000))
  }
}
