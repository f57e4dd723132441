// swift-tools-version: 6.0
// rlinf-swift: RL fine-tuning of vision-language-action policies on one workstation.
//
// libtorch: Debian's libtorch-dev (1.13.1) is used by default. Set RLINF_LIBTORCH to a folder with
// include/ and lib/ (the `torch` folder of a PyTorch wheel, or an unpacked libtorch/CUDA build) to
// build against that one instead; its lib/ is added to the rpath.
import Foundation
import PackageDescription

let environment = ProcessInfo.processInfo.environment

/// Compiler and linker settings that point the C++ shim at one libtorch installation.
struct LibTorch {
  var includeDirs: [String]
  var libDir: String?
  var hasCUDA: Bool
  /// Whether the shim compiles c10d's NCCL process group: a CUDA libtorch whose wheel's pip
  /// neighbours (`../nvidia/*/include`, CCCL under `cccl/`) hold nccl.h and the CUDA headers
  /// it includes (tools/device-bundle installs the ones PyTorch's wheel does not need).
  var hasNCCL = false

  static func locate() -> LibTorch {
    if let root = environment["RLINF_LIBTORCH"], !root.isEmpty {
      let lib = root + "/lib"
      let cuda = FileManager.default.fileExists(atPath: lib + "/libtorch_cuda.so")
      var includes = [root + "/include", root + "/include/torch/csrc/api/include"]
      var nccl = false
      if cuda {
        let nvidia = root + "/../nvidia"
        let packages = (try? FileManager.default.contentsOfDirectory(atPath: nvidia)) ?? []
        let found = packages.sorted().flatMap { ["\(nvidia)/\($0)/include", "\(nvidia)/\($0)/include/cccl"] }
          .filter { FileManager.default.fileExists(atPath: $0) }
        includes += found
        func has(_ header: String) -> Bool { found.contains { FileManager.default.fileExists(atPath: $0 + "/" + header) } }
        nccl = has("nccl.h") && has("cuda_runtime.h") && has("crt/host_config.h") && has("nv/target") && has("cusparse.h")
      }
      return LibTorch(includeDirs: includes, libDir: lib, hasCUDA: cuda, hasNCCL: nccl)
    }
    // Debian libtorch-dev: headers under /usr/include, libraries on the default search path.
    return LibTorch(includeDirs: ["/usr/include/torch/csrc/api/include"], libDir: nil, hasCUDA: false)
  }

  // c10d's headers compile their Gloo process group only with these defined; Gloo's own headers
  // come from Debian's libgloo-dev (the PyTorch wheel ships none). NCCL's likewise.
  var cxxFlags: [String] {
    includeDirs.flatMap { ["-isystem", $0] } + ["-DUSE_DISTRIBUTED", "-DUSE_C10D_GLOO"] + (hasNCCL ? ["-DUSE_C10D_NCCL"] : [])
  }

  var linkerFlags: [String] {
    var flags: [String] = []
    if let libDir { flags += ["-L\(libDir)", "-Xlinker", "-rpath", "-Xlinker", libDir] }
    // CUDA kernels register themselves from libtorch_cuda's static initialisers: keep the
    // library even though no symbol of it is referenced directly.
    if hasCUDA { flags += ["-Xlinker", "--no-as-needed", "-ltorch_cuda", "-Xlinker", "--as-needed"] }
    return flags
  }
}

let libtorch = LibTorch.locate()

let package = Package(
  name: "rlinf-swift",
  platforms: [.macOS(.v15)],
  products: [
    .library(name: "Torch", targets: ["Torch"]),
    .library(name: "Sim", targets: ["Sim"]),
    .executable(name: "rlinf-sim", targets: ["SimTool"]),
    .executable(name: "rlinf-sft", targets: ["SFTTool"]),
    .executable(name: "rlinf-train", targets: ["TrainTool"]),
    .executable(name: "rlinf-serve", targets: ["ServeTool"]),
    .executable(name: "rlinfd", targets: ["Daemon"]),
    .executable(name: "rlinfctl", targets: ["rlinfctl"]),
    // SentencePiece in a library of its own, loaded privately at run time (see csentencepiece.h).
    .library(name: "rlinf-sentencepiece", type: .dynamic, targets: ["CSentencePiece"]),
    .executable(name: "bench-tensor-swift", targets: ["TensorBench"]),
    .executable(name: "bench-sim-swift", targets: ["SimBench"]),
    .executable(name: "bench-policy-swift", targets: ["PolicyBench"]),
    .executable(name: "bench-pipeline-swift", targets: ["PipelineBench"]),
    .executable(name: "bench-workers-swift", targets: ["WorkerBench"]),
    .executable(name: "bench-rl-swift", targets: ["RLBench"]),
    .executable(name: "bench-distributed-swift", targets: ["DistributedBench"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
  ],
  targets: [
    // Native layer: the C API over libtorch. libtorch headers stay inside its .cpp files.
    .target(
      name: "CTorch",
      path: "Sources/Kernels/CTorch",
      cxxSettings: [.unsafeFlags(libtorch.cxxFlags)],
      linkerSettings: [
        .linkedLibrary("torch"), .linkedLibrary("torch_cpu"), .linkedLibrary("c10"),
        .unsafeFlags(libtorch.linkerFlags),
      ]),
    // MuJoCo's C API (Debian libmujoco-dev) and the helpers Swift cannot write itself.
    .target(
      name: "CMuJoCo", path: "Sources/Kernels/CMuJoCo",
      linkerSettings: [.linkedLibrary("mujoco")]),
    // The ray caster shared by the CPU renderer and the Vulkan kernel; optimised even in debug
    // builds (tests render thousands of images), without FMA contraction so that CPU and GPU
    // arithmetic stay the same.
    .target(
      name: "CRender", path: "Sources/Kernels/CRender",
      cSettings: [.unsafeFlags(["-O2", "-ffp-contract=off"])]),
    // The safetensors file format over raw bytes (no tensor library): shared by Torch's
    // checkpoints and Sim's demonstration datasets.
    .target(name: "SafeTensors"),
    // The Vulkan batch renderer: the same ray caster as one compute dispatch (lavapipe on the
    // CPU, a real GPU where present). SPIR-V is embedded (tools/build-shaders regenerates it).
    .target(
      name: "CVulkan", dependencies: ["CRender"], path: "Sources/Kernels/CVulkan",
      exclude: ["shaders"],
      linkerSettings: [.linkedLibrary("vulkan")]),
    // SentencePiece tokenizers (Debian libsentencepiece-dev): load, encode, decode, train.
    .target(
      name: "CSentencePiece", dependencies: ["CSentencePieceLoader"], path: "Sources/Kernels/CSentencePiece",
      linkerSettings: [.linkedLibrary("sentencepiece"), .linkedLibrary("sentencepiece_train")]),
    // Finds and loads librlinf-sentencepiece.so into a private symbol scope.
    .target(
      name: "CSentencePieceLoader", path: "Sources/Kernels/CSentencePieceLoader",
      linkerSettings: [.linkedLibrary("dl")]),
    // System helpers (line-buffered output; io_uring, NUMA and affinity with the pipeline).
    .target(name: "CSys", path: "Sources/Kernels/CSys", linkerSettings: [.linkedLibrary("numa"), .linkedLibrary("uring")]),
    // Tensors, autograd, nn blocks, optimizers, safetensors tensors.
    .target(name: "Torch", dependencies: ["CTorch", "SafeTensors"]),
    // The embedded batched tabletop simulator: MuJoCo physics, ray-cast observations, tasks,
    // scripted experts. Knows nothing of tensors.
    .target(name: "Sim", dependencies: ["CMuJoCo", "CRender", "CVulkan", "MessagePack", "SafeTensors"]),
    // VLA policies (OpenVLA, OpenVLA-OFT) on the Torch layer: vision transformers, the Llama
    // decoder, tokenizers, action tokens, value head, checkpoints with Hugging Face names.
    .target(name: "Models", dependencies: ["Torch", "CSentencePieceLoader"]),
    // Training configs: RLinf-VLA's YAML keys, read strictly and validated before any work.
    .target(name: "Config", dependencies: [.product(name: "Yams", package: "Yams")]),
    // Checkpoint folders on disk: atomic io_uring writes, a `latest` pointer, retention, a
    // background writer. Bytes only: what goes in them is the pipeline's business.
    .target(name: "Checkpoints", dependencies: ["CSys"]),
    // Metric files: JSON lines and TensorBoard event files.
    .target(name: "Metrics"),
    // The learning core: rollout buffer, advantages, losses and update steps (PPO, GRPO, SFT).
    .target(name: "RL", dependencies: ["Config", "Models", "Torch"]),
    // Generic staging, knowing nothing of RL: lock-free rings, pinned stage threads, placements
    // on the machine's cores, and the staged rollout that schedules any RolloutStageWork in the
    // collocated, disaggregated or hybrid mode (placement changes speed, never data).
    .target(name: "Staging", dependencies: ["CSys", "Config", "Torch"]),
    // The jobs on top of staging, joining simulator, policies and algorithms: SFT on
    // demonstrations, closed-loop evaluation and the RL loop.
    .target(name: "Pipeline", dependencies: ["CSys", "Checkpoints", "Config", "Metrics", "RL", "Models", "Sim", "Staging", "Torch"]),
    // The control protocol between rlinfd and its clients: messages, framing, a client.
    .target(name: "Control"),
    // rlinfd: the continuous-training daemon (jobs, control socket, systemd, logs).
    .executableTarget(
      name: "Daemon",
      dependencies: [
        "CSys", "Checkpoints", "Config", "Control", "Models", "Pipeline", "Serve",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ]),
    // rlinfctl: the command-line client (no libtorch: it builds and starts fast).
    .executableTarget(
      name: "rlinfctl",
      dependencies: ["Control", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
    // rlinf-sft: demonstrations -> supervised fine-tuning -> success rate in the simulator.
    .executableTarget(
      name: "SFTTool",
      dependencies: ["CSys", "Checkpoints", "Config", "Pipeline", "RL", "Models", "Sim", "Staging", "Torch", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
    // MessagePack values, written and read (bounded) for the policy server and remote robots.
    .target(name: "MessagePack"),
    // The policy server robots talk to: openpi's protocol (WebSocket, msgpack) over SwiftNIO.
    .target(
      name: "Serve",
      dependencies: [
        "Config", "MessagePack", "Models", "Torch",
        .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOWebSocket", package: "swift-nio"),
        .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
      ]),
    // rlinf-serve: one checkpoint (or a run's newest) served to robots.
    .executableTarget(
      name: "ServeTool",
      dependencies: ["CSys", "Checkpoints", "Models", "Serve", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
    // rlinf-train: one PPO/GRPO job from a YAML config, in the foreground.
    .executableTarget(
      name: "TrainTool",
      dependencies: ["CSys", "Config", "Pipeline", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
    // rlinf-sim: task list, observation grids, expert GIFs, demonstration datasets.
    .executableTarget(
      name: "SimTool",
      dependencies: ["CSys", "Sim", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
    // The Swift half of tools/bench-tensor.
    .executableTarget(name: "TensorBench", dependencies: ["Torch"], path: "Sources/PerfTools/TensorBench"),
    // Helpers shared by the test targets (locating the reference Python, temporary folders).
    .target(name: "TestSupport", path: "Tests/TestSupport"),
    // The Swift half of tools/bench-sim.
    .executableTarget(name: "SimBench", dependencies: ["Sim"], path: "Sources/PerfTools/SimBench"),
    // The Swift half of tools/bench-policy.
    .executableTarget(name: "PolicyBench", dependencies: ["CSys", "Models", "Torch"], path: "Sources/PerfTools/PolicyBench"),
    // The Swift half of tools/bench-pipeline.
    .executableTarget(name: "PipelineBench", dependencies: ["CSys", "Config", "Pipeline", "Staging"], path: "Sources/PerfTools/PipelineBench"),
    // The Swift half of tools/bench-workers.
    .executableTarget(name: "WorkerBench", dependencies: ["Sim"], path: "Sources/PerfTools/WorkerBench"),
    // The Swift half of tools/bench-rl.
    .executableTarget(name: "RLBench", dependencies: ["CSys", "Config", "Pipeline", "Sim", "Staging"], path: "Sources/PerfTools/RLBench"),
    // The Swift half of tools/bench-distributed (one rank per process).
    .executableTarget(name: "DistributedBench", dependencies: ["CSys", "Config", "Pipeline", "Torch"], path: "Sources/PerfTools/DistributedBench"),
    .testTarget(name: "TorchTests", dependencies: ["Torch", "SafeTensors", "TestSupport"], exclude: ["Reference"]),
    .testTarget(name: "ModelsTests", dependencies: ["Models", "Torch", "TestSupport"], exclude: ["Reference"]),
    .testTarget(name: "RLTests", dependencies: ["Config", "RL", "Models", "Torch", "TestSupport"], exclude: ["Reference"]),
    .testTarget(name: "ConfigTests", dependencies: ["Config", "TestSupport"]),
    .testTarget(name: "StagingTests", dependencies: ["CSys", "Config", "Staging", "Torch"]),
    .testTarget(name: "PipelineTests", dependencies: ["Config", "Pipeline", "RL", "Models", "Sim", "Staging", "Torch", "TestSupport"]),
    .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "TestSupport"]),
    .testTarget(name: "DaemonTests", dependencies: ["Checkpoints", "Control", "Models", "TestSupport"]),
    .testTarget(name: "MetricsTests", dependencies: ["Metrics", "TestSupport"], exclude: ["Reference"]),
    .testTarget(name: "ServeTests", dependencies: ["MessagePack", "Models", "Serve", "Torch", "TestSupport"], exclude: ["Reference"]),
    .testTarget(name: "SimTests", dependencies: ["Sim", "TestSupport"], exclude: ["Reference"]),
  ],
  swiftLanguageModes: [.v6],
  cxxLanguageStandard: .cxx17
)
