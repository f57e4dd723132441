// The Swift half of tools/bench-policy.
//
//   bench-policy-swift speed DIR THREADS ITERATIONS   saves the tiny OpenVLA and OFT policies to
//       DIR/{openvla,oft} with DIR/inputs.safetensors (batch 64), times them, prints `key value`
//   bench-policy-swift make-large DIR                 writes a ~1.2 GB float32 checkpoint
//   bench-policy-swift load DIR                       loads a checkpoint, prints its size and the
//       peak resident memory of this process
//   bench-policy-swift variants - THREADS ITERATIONS  env steps/s of inference and training of the
//       tiny OFT policy for chunk sizes, image-token pooling and bfloat16, with ratios to K = 1
import CSys
import Dispatch
import Foundation

import Models
import Torch

csys_line_buffered_stdout()
let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
  print("usage: bench-policy-swift speed DIR THREADS ITERATIONS | make-large DIR | load DIR")
  exit(2)
}
let mode = arguments[1], directory = arguments[2]

func seconds(_ body: () throws -> Void) rethrows -> Double {
  let start = DispatchTime.now().uptimeNanoseconds
  try body()
  return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func tokenizer() throws -> SentencePieceTokenizer {
  try SentencePieceTokenizer.train(sentences: (0..<40).map { PromptBatchText.prompt("pick up the object number \($0)") }, vocabularySize: 96)
}

switch mode {
case "speed":
  let threads = Int(arguments[3])!, iterations = Int(arguments[4])!
  TorchRuntime.configureThreads(threads)
  let tok = try tokenizer()
  let batch = 64
  let images = try Tensor.randint(0, 256, shape: [batch, 64, 64, 3], generator: Generator(seed: 1)).to(dtype: .uint8)
  let instruction = "pick up the object number 7"
  let instructions = Array(repeating: instruction, count: batch)
  let ids = [tok.bosID] + (try tok.encode(PromptBatchText.prompt(instruction)))
  try SafeTensorsWriter.write(
    ["images": images, "prompt_ids": Tensor(ids.map(Int64.init), shape: [1, ids.count]).expand([batch, ids.count]).contiguous()],
    to: directory + "/inputs.safetensors")
  for (name, head, chunks) in [("openvla", ActionHead.openvla, 1), ("oft", ActionHead.oft, 8)] {
    let policy = try VLAPolicy(config: .tiny(head: head, numActionChunks: chunks, textVocabulary: tok.vocabularySize), tokenizer: tok, generator: Generator(seed: 2))
    try VLACheckpoint.save(policy, to: directory + "/" + name)
    let sampling = SamplingSettings(temperature: 1.0)
    let generator = try Generator(seed: 3)
    func act() throws { _ = try Autograd.withNoGrad { try policy.act(images: images, instructions: instructions, sampling: sampling, generator: generator) } }
    for _ in 0..<2 { try act() }
    let time = median(try (0..<iterations).map { _ in try seconds(act) })
    print("\(name)_actions_per_s \(Double(batch * chunks) / time)")
    print("\(name)_forward_ms \(time * 1000)")
    // Teacher-forced forward + backward (what PPO and SFT run), batch 32.
    let out = try Autograd.withNoGrad { try policy.act(images: images, instructions: instructions, sampling: sampling, generator: generator) }
    let half = 32
    let trainImages = try images.slice(dim: 0, end: half), trainTokens = try out.tokens.slice(dim: 0, end: half)
    func train() throws {
      policy.zeroGrad()
      try policy.evaluate(images: trainImages, instructions: Array(instructions.prefix(half)), tokens: trainTokens, sampling: sampling).logProbs.mean().backward()
    }
    try train()
    let trainTime = median(try (0..<iterations).map { _ in try seconds(train) })
    print("\(name)_train_samples_per_s \(Double(half) / trainTime)")
  }

case "make-large":
  let tok = try tokenizer()
  var config = VLAConfig.tiny(head: .oft, numActionChunks: 8, textVocabulary: tok.vocabularySize)
  config.llm = LlamaConfig(
    vocabSize: tok.vocabularySize + ActionTokenizer.bins, hiddenSize: 1024, intermediateSize: 2816, numHiddenLayers: 24,
    numAttentionHeads: 16, numKeyValueHeads: 16)
  let policy = try VLAPolicy(config: config, tokenizer: tok, generator: Generator(seed: 0))
  try VLACheckpoint.save(policy, to: directory, maxShardBytes: 500_000_000)
  print("parameters \(policy.parameterCount)")

case "load":
  let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".safetensors") }
  let bytes = try files.reduce(0) { $0 + ((try FileManager.default.attributesOfItem(atPath: directory + "/" + $1)[.size] as? Int) ?? 0) }
  let time = try seconds { _ = try VLACheckpoint.load(from: directory) }
  let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
  let peakKB = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }!.split(separator: " ").dropFirst().first.map { Double($0)! }!
  print("checkpoint_mb \(Double(bytes) / 1e6)")
  print("peak_rss_mb \(peakKB * 1024 / 1e6)")
  print("load_seconds \(time)")

case "variants":
  // The tiny OFT policy's cost per environment step as the main job's model settings change:
  // chunk size K, image-token pooling, bfloat16 matmuls. Inference at batch 20 (a pipeline
  // sub-batch), teacher-forced forward + backward at batch 40, the real tokenizer and prompts.
  let threads = Int(arguments[3])!, iterations = Int(arguments[4])!
  TorchRuntime.configureThreads(threads)
  let tok = try SentencePieceTokenizer(path: "configs/tiny-tokenizer.model")
  let instructions = ["pick up the red cube", "pick up the green cube", "pick up the blue can"]
  var baseline: (act: Double, train: Double)?
  for (k, pool, bf16) in [(1, 1, false), (4, 1, false), (8, 1, false), (4, 2, false), (4, 2, true), (8, 2, true)] {
    let config = VLAConfig.tiny(head: .oft, numActionChunks: k, textVocabulary: tok.vocabularySize, proprioDim: 8, patchPool: pool, film: true)
    let policy = try VLAPolicy(config: config, tokenizer: tok, generator: Generator(seed: 2))
    policy.computeInBFloat16 = bf16
    let generator = try Generator(seed: 3)
    let sampling = SamplingSettings(temperature: 1.0)
    func inputs(_ n: Int) throws -> (Tensor, [String], Tensor) {
      (try Tensor.randint(0, 256, shape: [n, 64, 64, 3], generator: generator).to(dtype: .uint8),
       (0..<n).map { instructions[$0 % 3] }, try Tensor.rand([n, 8], generator: generator))
    }
    let (ai, at, ast) = try inputs(20)
    func act() throws { _ = try Autograd.withNoGrad { try policy.act(images: ai, instructions: at, state: ast, sampling: sampling, generator: generator) } }
    try act()
    let actSteps = Double(20 * k) / median(try (0..<iterations).map { _ in try seconds(act) })
    let (ti, tt, ts) = try inputs(40)
    let tokens = try Autograd.withNoGrad { try policy.act(images: ti, instructions: tt, state: ts, sampling: sampling, generator: generator).tokens }
    func train() throws {
      policy.zeroGrad()
      try policy.evaluate(images: ti, instructions: tt, state: ts, tokens: tokens, sampling: sampling).logProbs.mean().backward()
    }
    try train()
    let trainSteps = Double(40 * k) / median(try (0..<iterations).map { _ in try seconds(train) })
    let base = baseline ?? (actSteps, trainSteps)
    baseline = base
    print(String(format: "variant K=%d pool=%d %@ %.1f %.1f %.2f %.2f", k, pool, bf16 ? "bf16" : "fp32", actSteps, trainSteps, actSteps / base.act, trainSteps / base.train))
  }

default:
  print("unknown mode \(mode)")
  exit(2)
}
