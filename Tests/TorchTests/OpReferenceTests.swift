import Testing
import Torch

/// Forward values and gradients of every differentiable op, against PyTorch (Debian's
/// python3-torch, an independent caller of the same kernels).
@Suite struct OpReferenceTests {
  static let g = try! Generator(seed: 42)
  static func randn(_ shape: [Int]) -> Tensor { try! Tensor.randn(shape, generator: g) }
  static func positive(_ shape: [Int]) -> Tensor { try! Tensor.rand(shape, generator: g) + 0.5 }
  static func index(_ values: [Int64], _ shape: [Int]) -> Tensor { try! Tensor(values, shape: shape) }
  static func mask(_ values: [Bool], _ shape: [Int]) -> Tensor { try! Tensor(values, shape: shape) }

  static var elementwise: [ReferenceCase] {
    let a = randn([3, 4]), b = randn([3, 4]), row = randn([4]), p = positive([3, 4])
    return [
      .op("add", [a, row], python: "x[0] + x[1]") { try $0[0] + $0[1] },
      .op("sub", [a, b], python: "x[0] - x[1]") { try $0[0] - $0[1] },
      .op("mul", [a, row], python: "x[0] * x[1]") { try $0[0] * $0[1] },
      .op("div", [a, p], python: "x[0] / x[1]") { try $0[0] / $0[1] },
      .op("scalar_ops", [a], python: "(2.0 - x[0]) * 3.0 + 1.5 / (x[0] * x[0] + 1.0) - x[0] / 4.0") {
        try (2 - $0[0]) * 3 + 1.5 / ($0[0] * $0[0] + 1) - $0[0] / 4
      },
      .op("neg", [a], python: "-x[0]") { try -$0[0] },
      .op("exp", [a], python: "x[0].exp()") { try $0[0].exp() },
      .op("log", [p], python: "x[0].log()") { try $0[0].log() },
      .op("sqrt", [p], python: "x[0].sqrt()") { try $0[0].sqrt() },
      .op("rsqrt", [p], python: "x[0].rsqrt()") { try $0[0].rsqrt() },
      .op("abs", [a], python: "x[0].abs()") { try $0[0].abs() },
      .op("tanh", [a], python: "x[0].tanh()") { try $0[0].tanh() },
      .op("sigmoid", [a], python: "x[0].sigmoid()") { try $0[0].sigmoid() },
      .op("relu", [a], python: "x[0].relu()") { try $0[0].relu() },
      .op("gelu", [a], python: "F.gelu(x[0])") { try $0[0].gelu() },
      .op("gelu_tanh", [a], python: "F.gelu(x[0], approximate='tanh')") { try $0[0].gelu(approximateTanh: true) },
      .op("silu", [a], python: "F.silu(x[0])") { try $0[0].silu() },
      .op("sin", [a], python: "x[0].sin()") { try $0[0].sin() },
      .op("cos", [a], python: "x[0].cos()") { try $0[0].cos() },
      .op("reciprocal", [p], python: "x[0].reciprocal()") { try $0[0].reciprocal() },
      .op("square", [a], python: "x[0].square()") { try $0[0].square() },
      .op("log1p", [p], python: "x[0].log1p()") { try $0[0].log1p() },
      .op("expm1", [a], python: "x[0].expm1()") { try $0[0].expm1() },
      .op("erf", [a], python: "x[0].erf()") { try $0[0].erf() },
      .op("pow_scalar", [p], python: "x[0] ** 2.5") { try $0[0].pow(2.5) },
      .op("pow_tensor", [p, a], python: "x[0] ** x[1]") { try $0[0].pow($0[1]) },
      .op("maximum", [a, b], python: "torch.maximum(x[0], x[1])") { try $0[0].maximum($0[1]) },
      .op("minimum", [a, b], python: "torch.minimum(x[0], x[1])") { try $0[0].minimum($0[1]) },
      .op("clamp", [a], python: "x[0].clamp(-0.5, 0.7)") { try $0[0].clamp(min: -0.5, max: 0.7) },
      .op("clamp_min", [a], python: "x[0].clamp(min=0.1)") { try $0[0].clamp(min: 0.1) },
      .op("where", [mask([true, false, true, true], [4]), a, b], python: "torch.where(x[0], x[1], x[2])") {
        try Tensor.where($0[0], $0[1], $0[2])
      },
    ]
  }

  static var shapes: [ReferenceCase] {
    let a = randn([2, 3, 4]), m = randn([3, 4]), v = randn([5, 4])
    return [
      .op("reshape", [a], python: "x[0].reshape(6, 4) * torch.arange(24.).reshape(6, 4)") {
        try $0[0].reshape([6, 4]) * Tensor.arange(0, 24, dtype: .float32).reshape([6, 4])
      },
      .op("view", [a], python: "x[0].view(2, 12).cumsum(1)") { try $0[0].view([2, 12]).cumsum(dim: 1) },
      .op("permute", [a], python: "x[0].permute(2, 0, 1).cumsum(0)") { try $0[0].permute([2, 0, 1]).cumsum(dim: 0) },
      .op("transpose", [a], python: "x[0].transpose(0, 2).cumsum(1)") { try $0[0].transpose(0, 2).cumsum(dim: 1) },
      .op("unsqueeze_squeeze", [m], python: "x[0].unsqueeze(1).squeeze(1).unsqueeze(0) * 2") {
        try $0[0].unsqueeze(1).squeeze(1).unsqueeze(0) * 2
      },
      .op("flatten", [a], python: "x[0].flatten(1).cumsum(1)") { try $0[0].flatten(from: 1).cumsum(dim: 1) },
      .op("expand", [randn([3, 1])], python: "x[0].expand(3, 4).cumsum(1)") { try $0[0].expand([3, 4]).cumsum(dim: 1) },
      .op("repeat", [m], python: "x[0].repeat(2, 3).cumsum(0)") { try $0[0].repeated([2, 3]).cumsum(dim: 0) },
      .op("cat", [m, v], python: "torch.cat([x[0], x[1]], 0).cumsum(0)") { try Tensor.cat([$0[0], $0[1]], dim: 0).cumsum(dim: 0) },
      .op("stack", [m, randn([3, 4])], python: "torch.stack([x[0], x[1]], 1).cumsum(1)") {
        try Tensor.stack([$0[0], $0[1]], dim: 1).cumsum(dim: 1)
      },
      .op("slice_step", [v], python: "x[0][1:5:2, 1:]") { try $0[0].slice(dim: 0, start: 1, end: 5, step: 2).slice(dim: 1, start: 1) },
      .op("select", [a], python: "x[0].select(1, 2)") { try $0[0].select(dim: 1, index: 2) },
      .op("chunk", [v], python: "x[0][0:2] * x[0][2:4]") {
        let pieces = try $0[0].chunked(3, dim: 0)
        return try pieces[0] * pieces[1]
      },
      .op("gather", [m, index([0, 3, 1, 1, 2, 2], [3, 2])], python: "x[0].gather(1, x[1])") {
        try $0[0].gather(dim: 1, index: $0[1])
      },
      .op("scatter_add", [m, index([0, 1, 1, 2], [1, 4]), randn([1, 4])], python: "x[0].scatter_add(0, x[1], x[2])") {
        try $0[0].scatterAdd(dim: 0, index: $0[1], source: $0[2])
      },
      .op("index_select", [v, index([4, 0, 4], [3])], python: "x[0].index_select(0, x[1])") {
        try $0[0].indexSelect(dim: 0, index: $0[1])
      },
      .op("masked_fill", [m, mask([true, false, false, true], [4])], python: "x[0].masked_fill(x[1], -2.0)") {
        try $0[0].maskedFill($0[1], value: -2)
      },
      .op("tril_triu", [randn([4, 4])], python: "x[0].tril(-1) * 2 + x[0].triu(1)") {
        try $0[0].lowerTriangle(-1) * 2 + $0[0].upperTriangle(1)
      },
    ]
  }

  static var algebraAndReductions: [ReferenceCase] {
    let m = randn([3, 4]), a = randn([2, 3, 4]), w = randn([5, 4])
    return [
      .op("matmul", [a, randn([4, 5])], python: "x[0] @ x[1]") { try $0[0].matmul($0[1]) },
      .op("bmm", [a, randn([2, 4, 3])], python: "torch.bmm(x[0], x[1])") { try $0[0].bmm($0[1]) },
      .op("linear", [a, w, randn([5])], python: "F.linear(x[0], x[1], x[2])") { try $0[0].linear(weight: $0[1], bias: $0[2]) },
      .op("sum_dims", [a], python: "x[0].sum((0, 2))") { try $0[0].sum(dims: [0, 2]) },
      .op("sum_all", [a], python: "x[0].sum()") { try $0[0].sum() },
      .op("mean_keep", [a], python: "x[0].mean(-1, keepdim=True)") { try $0[0].mean(dims: [-1], keepDims: true) },
      .op("max_dim", [a], python: "x[0].amax(1)") { try $0[0].max(dims: [1]) },
      .op("min_all", [a], python: "x[0].amin()") { try $0[0].min() },
      .op("prod", [positive([3, 4])], python: "x[0].prod(1)") { try $0[0].prod(dims: [1]) },
      .op("variance", [a], python: "x[0].var(-1)") { try $0[0].variance(dims: [-1]) },
      .op("std", [a], python: "x[0].std((1, 2))") { try $0[0].std(dims: [1, 2]) },
      .op("logsumexp", [a], python: "x[0].logsumexp(-1)") { try $0[0].logSumExp(dims: [-1]) },
      .op("norm", [a], python: "x[0].norm(dim=(0, 1))") { try $0[0].norm(dims: [0, 1]) },
      .op("cumsum", [m], python: "x[0].cumsum(0)") { try $0[0].cumsum(dim: 0) },
      .op("softmax", [a], python: "x[0].softmax(-1)") { try $0[0].softmax(dim: -1) },
      .op("log_softmax", [a], python: "x[0].log_softmax(1)") { try $0[0].logSoftmax(dim: 1) },
      .op("topk_values", [m], python: "x[0].topk(2, -1).values") { try $0[0].topK(2).values },
      .op("topk_smallest", [m], python: "x[0].topk(3, 0, largest=False).values") { try $0[0].topK(3, dim: 0, largest: false).values },
    ]
  }

  /// Outputs without gradients: comparisons, indices, sampling.
  static var nonDifferentiable: [ReferenceCase] {
    let a = randn([3, 4]), b = randn([3, 4])
    let probs = try! Tensor.rand([4, 6], generator: g) + 0.1
    return [
      .op("compare", [a, b], python: "torch.stack([x[0] < x[1], x[0] <= x[1], x[0] > 0.2, x[0] >= x[1], x[0] == x[0], x[0] != x[1]])") {
        try Tensor.stack([$0[0].lt($0[1]), $0[0].le($0[1]), $0[0].gt(0.2), $0[0].ge($0[1]), $0[0].eq($0[0]), $0[0].ne($0[1])])
      },
      .op("logic", [a, b], python: "(x[0] > 0).logical_and(x[1] > 0).logical_or(~(x[0] > 1))") {
        try $0[0].gt(0).logicalAnd($0[1].gt(0)).logicalOr($0[0].gt(1).logicalNot())
      },
      .op("argmax_argmin", [a], python: "torch.stack([x[0].argmax(1), x[0].argmin(1)])") {
        try Tensor.stack([$0[0].argmax(dim: 1), $0[0].argmin(dim: 1)])
      },
      .op("topk_indices", [a], python: "x[0].topk(2, -1).indices") { try $0[0].topK(2).indices },
      .op("all_any", [a], python: "torch.stack([(x[0] > -3).all(1), (x[0] > 1).any(1)])") {
        try Tensor.stack([$0[0].gt(-3).all(dims: [1]), $0[0].gt(1).any(dims: [1])])
      },
      .op("one_hot", [index([0, 3, 2], [3])], python: "F.one_hot(x[0], 5)") { try $0[0].oneHot(classes: 5) },
      .op("masked_select", [a], python: "x[0].masked_select(x[0] > 0)") { try $0[0].maskedSelect($0[0].gt(0)) },
      .op("multinomial", [probs], python: "torch.multinomial(x[0], 3, False, generator=torch.Generator().manual_seed(7))") {
        try $0[0].multinomial(count: 3, generator: Generator(seed: 7))
      },
      .op("multinomial_replacement", [probs], python: "torch.multinomial(x[0], 20, True, generator=torch.Generator().manual_seed(9))") {
        try $0[0].multinomial(count: 20, replacement: true, generator: Generator(seed: 9))
      },
      .op("dropout_seeded", [a], grad: [false], python: "(torch.manual_seed(5), F.dropout(x[0], 0.5, True))[1]") {
        TorchRuntime.manualSeed(5)
        return try $0[0].dropout(0.5, training: true)
      },
    ]
  }

  @Test(arguments: ["elementwise", "shapes", "algebra and reductions", "non-differentiable"])
  func matchesPyTorch(group: String) throws {
    let cases: [ReferenceCase] = switch group {
    case "elementwise": Self.elementwise
    case "shapes": Self.shapes
    case "algebra and reductions": Self.algebraAndReductions
    default: Self.nonDifferentiable
    }
    try expectMatches(runReference(cases))
  }
}
