import CSys
import Torch

/// What this process may use: CPUs in its affinity mask, NUMA nodes, CUDA devices.
public struct Machine: Sendable {
  public var cpus: [Int]
  /// 0 where NUMA calls are unavailable (containers, kernels without NUMA).
  public var numaNodes: Int
  public var cudaDevices: Int

  public init(cpus: [Int], numaNodes: Int, cudaDevices: Int) {
    self.cpus = cpus
    self.numaNodes = numaNodes
    self.cudaDevices = cudaDevices
  }

  public static func current() -> Machine {
    var buffer = [Int32](repeating: 0, count: 4096)
    let n = csys_allowed_cpus(&buffer, Int32(buffer.count))
    let cpus = n > 0 ? buffer[0..<Int(n)].map(Int.init) : [0]
    return Machine(cpus: cpus, numaNodes: Int(csys_numa_nodes()), cudaDevices: TorchRuntime.cudaDeviceCount)
  }

  /// The NUMA node of a CPU (nil without NUMA).
  public func numaNode(ofCPU cpu: Int) -> Int? {
    numaNodes > 0 ? Int(csys_numa_node_of_cpu(Int32(cpu))) : nil
  }
}
