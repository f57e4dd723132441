import Foundation
import Synchronization
import Testing
import Torch

@Suite struct TensorCoreTests {
  @Test func arraysRoundTripInEveryDType() throws {
    #expect(try Tensor([Float(1.5), -2], shape: [2]).scalars(as: Float.self) == [1.5, -2])
    #expect(try Tensor([1.25, 2.5, 3, 4], shape: [2, 2]).scalars(as: Double.self) == [1.25, 2.5, 3, 4])
    #expect(try Tensor([Int64.max, -1]).scalars(as: Int64.self) == [Int64.max, -1])
    #expect(try Tensor([Int32(7), -7]).scalars(as: Int32.self) == [7, -7])
    #expect(try Tensor([Int16(300)]).scalars(as: Int16.self) == [300])
    #expect(try Tensor([Int8(-100)]).scalars(as: Int8.self) == [-100])
    #expect(try Tensor([UInt8(255), 0]).scalars(as: UInt8.self) == [255, 0])
    #expect(try Tensor([true, false, true]).scalars(as: Bool.self) == [true, false, true])
    #expect(try Tensor([Float16(0.5)]).scalars(as: Float16.self) == [0.5])
    let bf16 = try Tensor([Float(1), 0.5, -3]).to(dtype: .bfloat16)
    #expect(bf16.dtype == .bfloat16)
    #expect(try bf16.floats() == [1, 0.5, -3])
    #expect(throws: TorchError.self) { try Tensor([Float(1), 2], shape: [3]) }
    #expect(throws: TorchError.self) { try Tensor([Float(1)]).scalars(as: Double.self) }
  }

  @Test func metadata() throws {
    let t = try Tensor.zeros([2, 3, 4], dtype: .float16)
    #expect(t.shape == [2, 3, 4])
    #expect(t.rank == 3 && t.elementCount == 24 && t.dtype == .float16 && t.device == .cpu)
    #expect(t.strides == [12, 4, 1] && t.isContiguous)
    let transposed = try t.transpose(0, 2)
    #expect(!transposed.isContiguous && transposed.shape == [4, 3, 2])
    #expect(try transposed.contiguous().isContiguous)
    #expect(t.size(-1) == 4)
    #expect(try Tensor(scalar: 3.5).item() == 3.5)
  }

  /// A borrowed buffer is used in place, and its release runs exactly once when libtorch lets go.
  @Test func borrowedBuffersAreNotCopied() throws {
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: 6)
    buffer.initialize(from: [1, 2, 3, 4, 5, 6], count: 6)
    let released = Atomic<Int>(0)
    do {
      let tensor = try Tensor(borrowing: buffer, shape: [2, 3], dtype: .float32) { released.add(1, ordering: .relaxed) }
      buffer[4] = 50
      #expect(try tensor.floats() == [1, 2, 3, 4, 50, 6])
      let view = try tensor.transpose(0, 1)  // shares the storage: keeps the buffer alive
      _ = consume tensor
      #expect(released.load(ordering: .relaxed) == 0)
      #expect(try view.floats() == [1, 4, 2, 50, 3, 6])
    }
    #expect(released.load(ordering: .relaxed) == 1)
    buffer.deallocate()

    let strided = UnsafeMutablePointer<Int32>.allocate(capacity: 6)
    strided.initialize(from: [0, 1, 2, 3, 4, 5], count: 6)
    let columns = try Tensor(borrowing: strided, shape: [3, 2], strides: [1, 3], dtype: .int32) {}
    #expect(try columns.scalars(as: Int32.self) == [0, 3, 1, 4, 2, 5])
    _ = consume columns
    strided.deallocate()
  }

  @Test func libtorchErrorsBecomeSwiftErrors() throws {
    let a = try Tensor.zeros([2, 3]), b = try Tensor.zeros([4, 5])
    do {
      _ = try a.matmul(b)
      Issue.record("mismatched matmul succeeded")
    } catch let error as TorchError {
      #expect(error.message.contains("matmul([2, 3], [4, 5])"))
      #expect(error.message.contains("cannot be multiplied"))
      #expect(!error.message.contains("frame #"), "no C++ backtrace in the message")
    }
    #expect(throws: TorchError.self) { try a + b }
    #expect(throws: TorchError.self) { try a.reshape([7]) }
    #expect(throws: TorchError.self) { try Tensor.zeros([3, 2]).embedding(Tensor.zeros([2])) }  // float indices
    #expect(throws: TorchError.self) { try a.select(dim: 0, index: 5) }
    #expect(throws: TorchError.self) { try a.transpose(0, 1).view([6]) }
    #expect(throws: TorchError.self) { try Tensor.cat([a, b]) }
  }

  @Test func deviceNamesParse() throws {
    #expect(try Device(parsing: "cuda:1") == .cuda(1))
    #expect(try Device(parsing: "cpu") == .cpu)
    #expect(throws: TorchError.self) { try Device(parsing: "tpu") }
  }

  @Test(.enabled(if: !TorchRuntime.cudaAvailable, "this libtorch has CUDA: cudaDeviceBeyondTheVisibleOnes checks instead"))
  func cudaIsAClearErrorWithoutIt() throws {
    do {
      _ = try Tensor.zeros([2], device: .cuda(0))
      Issue.record("a CUDA tensor without CUDA")
    } catch let error as TorchError {
      #expect(error.message.contains("no CUDA support"))
    }
    #expect(throws: TorchError.self) { try TorchRuntime.validate(.cuda(0)) }
    #expect(throws: TorchError.self) { try Tensor.zeros([2]).to(device: .cuda(0)) }
  }

  @Test(.enabled(if: TorchRuntime.cudaAvailable, "this libtorch has no CUDA: cudaIsAClearErrorWithoutIt checks instead"))
  func cudaDeviceBeyondTheVisibleOnes() throws {
    let missing = Device.cuda(TorchRuntime.cudaDeviceCount)
    #expect(throws: TorchError.self) { try TorchRuntime.validate(missing) }
    #expect(throws: TorchError.self) { try Tensor.zeros([2]).to(device: missing) }
  }

  @Test func autogradBasics() throws {
    let w = try Tensor([Float(1), 2, 3]).requiringGrad()
    #expect(w.requiresGrad && w.isLeaf && w.grad == nil)
    let loss = try (w * w).sum()
    #expect(loss.requiresGrad && !loss.isLeaf)
    try loss.backward()
    #expect(try w.grad!.floats() == [2, 4, 6])
    // Gradients accumulate until cleared.
    try (w * 3).sum().backward()
    #expect(try w.grad!.floats() == [5, 7, 9])
    w.zeroGrad()
    #expect(w.grad == nil)
    // No-grad scope: nothing recorded, mode restored afterwards (also after a throw).
    let inside = try Autograd.withNoGrad { try w * 2 }
    #expect(!inside.requiresGrad && Autograd.isEnabled)
    #expect(throws: TorchError.self) { try Autograd.withNoGrad { try w.reshape([5]) } }
    #expect(Autograd.isEnabled)
    // Detached tensors share values but not the graph.
    let detached = try (w * 2).detached()
    #expect(!detached.requiresGrad)
    #expect(try detached.floats() == [2, 4, 6])
    // backward of a non-scalar needs a gradient.
    #expect(throws: TorchError.self) { try (w * 2).backward() }
    try (w * 2).backward(gradient: Tensor([Float(1), 0, 1]))
    #expect(try w.grad!.floats() == [2, 0, 2])
  }

  @Test func seededGeneratorsReproduceAndRestore() throws {
    let a = try Generator(seed: 123), b = try Generator(seed: 123)
    #expect(try Tensor.randn([5], generator: a).floats() == Tensor.randn([5], generator: b).floats())
    let state = try a.state()
    let next = try Tensor.rand([4], generator: a).floats()
    try a.restore(state)
    #expect(try Tensor.rand([4], generator: a).floats() == next)
    let probs = try Tensor([Float(0.1), 0.2, 0.7])
    let first = try probs.multinomial(count: 50, replacement: true, generator: Generator(seed: 5)).ints()
    let second = try probs.multinomial(count: 50, replacement: true, generator: Generator(seed: 5)).ints()
    #expect(first == second && Set(first).isSubset(of: [0, 1, 2]))
    TorchRuntime.manualSeed(9)
    let global1 = try Tensor.rand([3]).floats()
    TorchRuntime.manualSeed(9)
    #expect(try Tensor.rand([3]).floats() == global1)
  }

  @Test func threadControl() throws {
    let previous = TorchRuntime.threads
    TorchRuntime.threads = 1
    #expect(TorchRuntime.threads == 1)
    TorchRuntime.threads = previous
    if TorchRuntime.version.hasPrefix("1.13") {
      #expect(TorchRuntime.setBLASThreads(1), "Debian's libtorch calls OpenBLAS (libopenblas0-pthread)")
    }
  }

  @Test func inPlaceUpdatesAreVisibleThroughCopies() throws {
    let p = try Tensor.zeros([3])
    let alias = p
    try p.addInPlace(Tensor.ones([3]), alpha: 2)
    try p.multiplyInPlace(1.5)
    try p.addProductInPlace(Tensor.ones([3]), Tensor.full([3], value: 2), value: 0.5)
    try p.addQuotientInPlace(Tensor.ones([3]), Tensor.full([3], value: 4), value: 4)
    #expect(try alias.floats() == [5, 5, 5])
    try p.copyFrom(Tensor([Float(1), 2, 3]))
    #expect(try alias.floats() == [1, 2, 3])
  }
}
