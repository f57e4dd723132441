import Testing
import Torch

@Suite struct LoRATests {
  final class Net: Module {
    let qProj = try! Linear(6, 5, generator: try! Generator(seed: 1))
    let out = try! Linear(5, 3, generator: try! Generator(seed: 2))
    var children: [(name: String, module: any Module)] { [("q_proj", qProj), ("out", out)] }
    func callAsFunction(_ x: Tensor) throws -> Tensor { try out(qProj(x).gelu()) }
  }

  @Test func adaptersStartNeutralTrainAloneAndMerge() throws {
    let net = Net()
    let x = try Tensor.randn([4, 6], generator: Generator(seed: 3))
    let before = try net(x)
    let trainable = try LoRA.apply(to: net, rank: 2, alpha: 4, targets: ["q_proj"])
    #expect(trainable.map(\.name) == ["q_proj.lora_A.weight", "q_proj.lora_B.weight"])
    #expect(try net(x).floats() == before.floats(), "B = 0: the adapted model starts as the base model")
    #expect(!net.qProj.weight.requiresGrad && !net.out.weight.requiresGrad && net.qProj.lora!.b.requiresGrad)

    // Train the adapter a little: only it changes.
    let optimizer = try AdamW(groups: [.init(name: "lora", parameters: trainable, lr: 0.05, weightDecay: 0)])
    let frozen = try net.qProj.weight.clone()
    for _ in 0..<5 {
      optimizer.zeroGrad()
      try net(x).square().sum().backward()
      try optimizer.step()
    }
    #expect(try net.qProj.weight.floats() == frozen.floats())
    let adapted = try net(x)
    #expect(try (adapted - before).abs().max().item() > 1e-3)

    // Merging folds the update into W: same outputs, no adapter parameters left.
    try LoRA.merge(net)
    #expect(net.qProj.lora == nil && !net.namedParameters().contains { $0.name.contains("lora") })
    #expect(try (net(x) - adapted).abs().max().item() < 1e-5)
    #expect(throws: TorchError.self) { try LoRA.apply(to: net, rank: 2, alpha: 4, targets: ["missing"]) }
  }
}
