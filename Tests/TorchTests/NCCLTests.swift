import Foundation
import TestSupport
import Testing
import Torch

/// The NCCL backend where the linked libtorch has it and sees a GPU (tools/device-check runs
/// this on a GPU machine; skipped elsewhere): one rank per GPU, two at most, each a thread with
/// its own group on its own device. CUDA tensors go through NCCL, CPU tensors through Gloo.
@Suite(.enabled(if: TorchRuntime.cudaAvailable && CollectiveBackend.ncclAvailable, "needs a CUDA device and a libtorch with NCCL"))
struct NCCLTests {
  static var ranks: Int { min(TorchRuntime.cudaDeviceCount, 2) }

  @Sendable static func network(on device: Device) throws -> [Tensor] {
    let generator = try Generator(seed: 11)
    return try [[16, 8], [16, 16], [4, 16]].map { try Tensor.randn($0, generator: generator).to(device: device).requiringGrad() }
  }

  @Sendable static func loss(_ parameters: [Tensor], rank: Int, on device: Device) throws -> Tensor {
    let x = try Tensor.randn([6, 8], generator: Generator(seed: UInt64(50 + rank))).to(device: device)  // [B, 8]
    let h1 = try x.matmul(parameters[0].transpose(0, 1)).tanh()  // [B, 16]
    let h2 = try h1.matmul(parameters[1].transpose(0, 1)).tanh()  // [B, 16]
    return try h2.matmul(parameters[2].transpose(0, 1)).square().mean()  // []
  }

  /// An armed backward on each rank's GPU: the reducer's buckets go through NCCL, the first one
  /// during the backward, and every gradient becomes the mean over ranks of what the CPU computes
  /// for each rank's input; a CPU all-reduce in the same group goes through Gloo.
  @Test func gradientsAveragedOverNCCL() throws {
    let world = Self.ranks
    let port = try unusedLocalPort()
    // The CPU's gradients of each rank's loss: the reference.
    let reference: [[[Float]]] = try (0..<world).map { rank in
      let p = try Self.network(on: .cpu)
      return try Autograd.gradients(of: Self.loss(p, rank: rank, on: .cpu), withRespectTo: p).map { try $0.floats() }
    }
    let out = try onRankThreads(world) { rank -> (startedAfter: [Int?], gradients: [[Float]], cpuSum: [Float]) in
      let device = Device.cuda(rank)
      let group = try ProcessGroup(Rendezvous(port: port, rank: rank, worldSize: world, timeoutSeconds: 120, backend: .nccl))
      let parameters = try Self.network(on: device)
      let reducer = try GradientReducer(parameters, over: group, buckets: GradientBuckets(bucketBytes: 1 << 20, firstBucketBytes: 300))
      try reducer.arm()
      try Self.loss(parameters, rank: rank, on: device).backward(into: parameters)
      try reducer.finish()
      let cpu = try Tensor([Float(rank + 1)])
      try group.allReduceSum(cpu, "all-reduce of a CPU tensor")
      return (reducer.startedAfter, try parameters.map { try $0.grad!.to(device: .cpu).floats() }, try cpu.floats())
    }
    for (rank, r) in out.enumerated() {
      #expect(r.startedAfter.first! == 1, "rank \(rank): the last layer's bucket started during the backward")
      #expect(r.cpuSum == [Float(world * (world + 1) / 2)])
      for i in 0..<3 {
        let mean = (0..<world).map { reference[$0][i] }.reduce([Float](repeating: 0, count: reference[0][i].count)) { zip($0, $1).map { $0 + $1 } }
          .map { $0 / Float(world) }
        #expect(zip(r.gradients[i], mean).allSatisfy { Swift.abs($0 - $1) <= 1e-4 * Swift.max(1, Swift.abs($1)) }, "rank \(rank) parameter \(i)")
      }
    }
  }
}
