import Foundation
import TestSupport
import Testing
import Torch

/// c10d process groups over Gloo on loopback, each rank a thread with its own group.
@Suite struct ProcessGroupTests {
  func rendezvous(_ rank: Int, _ world: Int, port: Int, timeout: Double = 30) -> Rendezvous {
    Rendezvous(host: "127.0.0.1", port: port, rank: rank, worldSize: world, timeoutSeconds: timeout)
  }

  /// Sums, broadcasts and gathers of three ranks give the arithmetic's values.
  @Test func collectivesOfThreeRanks() throws {
    let port = try unusedLocalPort()
    let out = try onRankThreads(3) { rank -> ([Float], [Float], [[Float]]) in
      let group = try ProcessGroup(rendezvous(rank, 3, port: port))
      let x = try Tensor([Float(rank + 1), Float(10 * (rank + 1))])
      try group.allReduceSum(x)
      let b = try Tensor([Float(rank), Float(-rank)])
      try group.broadcast(b, from: 2)
      let gathered = try group.allGather(try Tensor([Float(100 + rank)]))
      try group.barrier()
      return (try x.floats(), try b.floats(), try gathered.map { try $0.floats() })
    }
    for (sum, broadcast, gathered) in out {
      #expect(sum == [6, 60])
      #expect(broadcast == [2, -2])
      #expect(gathered == [[100], [101], [102]])
    }
  }

  /// Buckets hold at most bucketBytes, the first at most firstBucketBytes (a parameter larger
  /// than that gets a bucket of its own), and run from the last parameter to the first.
  @Test func bucketsRunInReverseParameterOrder() throws {
    let parameters = try [3, 2, 2, 9, 1].map { try Tensor.zeros([$0]) }  // float32: 4 bytes each
    #expect(GradientBuckets(bucketBytes: 24, firstBucketBytes: 24).plan(parameters) == [[4], [3], [2, 1], [0]])
    #expect(GradientBuckets(bucketBytes: 48, firstBucketBytes: 4).plan(parameters) == [[4], [3, 2], [1, 0]])
    #expect(GradientBuckets().plan(parameters) == [[4, 3, 2, 1, 0]])
  }

  /// Averaged gradients are each parameter's mean over ranks, across several buckets.
  @Test func averagedGradientsAreTheMeanOverRanks() throws {
    let port = try unusedLocalPort()
    let out = try onRankThreads(2) { rank -> [[Float]] in
      let group = try ProcessGroup(rendezvous(rank, 2, port: port))
      let shapes = [[2, 3], [4], [1]]
      let parameters = try shapes.map { try Tensor.zeros($0).requiringGrad() }
      for (i, p) in parameters.enumerated() {
        let values = (0..<p.elementCount).map { Float(i * 10 + $0) * Float(rank + 1) }
        try p.setGrad(try Tensor(values, shape: p.shape))
      }
      let reducer = try GradientReducer(parameters, over: group, buckets: GradientBuckets(bucketBytes: 16, firstBucketBytes: 16))
      #expect(reducer.buckets == [[2], [1], [0]])
      try reducer.finish()
      #expect(reducer.startedAfter == [nil, nil, nil], "nothing was armed: every bucket started at finish()")
      return try parameters.map { try $0.grad!.floats() }
    }
    // mean over ranks of v * (rank + 1) = 1.5 v
    let expected: [[Float]] = [(0..<6).map { 1.5 * Float($0) }, (0..<4).map { 1.5 * Float(10 + $0) }, [30]]
    #expect(out[0] == expected && out[1] == expected)
  }

  /// An armed backward through a 3-layer network starts the bucket of the last layer's
  /// gradient when only that gradient is in (the overlap: the layers below are still to be
  /// differentiated), the next as it completes, and the bucket that holds a parameter the loss
  /// does not use at finish(). The result is the mean over ranks of each rank's gradients, as
  /// autograd gives them without the reducer, and zeros for the unused parameter.
  @Test func anArmedBackwardStartsBucketsAsTheirGradientsArrive() throws {
    let port = try unusedLocalPort()
    let out = try onRankThreads(2) { rank -> (startedAfter: [Int?], reduced: [[Float]], own: [[Float]], other: [[Float]]) in
      let group = try ProcessGroup(rendezvous(rank, 2, port: port))
      let generator = try Generator(seed: 7)
      // [unused [3], w1 [8, 4], w2 [8, 8], w3 [2, 8]]: 12, 128, 256 and 64 bytes.
      let parameters = try [[3], [8, 4], [8, 8], [2, 8]].map { try Tensor.randn($0, generator: generator).requiringGrad() }
      func loss(_ r: Int) throws -> Tensor {
        let x = try Tensor.randn([5, 4], generator: Generator(seed: UInt64(100 + r)))  // [B, 4], per rank
        let h1 = try x.matmul(parameters[1].transpose(0, 1)).tanh()  // [B, 8]
        let h2 = try h1.matmul(parameters[2].transpose(0, 1)).tanh()  // [B, 8]
        return try h2.matmul(parameters[3].transpose(0, 1)).square().mean()  // []
      }
      // Each rank's own gradients, and the other rank's, without the reducer.
      func gradients(_ r: Int) throws -> [[Float]] { try Autograd.gradients(of: loss(r), withRespectTo: parameters).map { try $0.floats() } }
      let own = try gradients(rank), other = try gradients(1 - rank)
      // Buckets: [w3], [w2], [w1, unused] (the first capped at 100 bytes, the others at 256).
      let reducer = try GradientReducer(parameters, over: group, buckets: GradientBuckets(bucketBytes: 256, firstBucketBytes: 100))
      #expect(reducer.buckets == [[3], [2], [1, 0]])
      try reducer.arm()
      try loss(rank).backward(into: parameters)
      try reducer.finish()
      return (reducer.startedAfter, try parameters.map { try $0.grad!.floats() }, own, other)
    }
    for (rank, r) in out.enumerated() {
      #expect(r.startedAfter == [1, 2, nil], "rank \(rank)")
      for i in 0..<4 {
        let expected = i == 0 ? [Float](repeating: 0, count: 3) : zip(r.own[i], r.other[i]).map { ($0 + $1) / 2 }
        #expect(zip(r.reduced[i], expected).allSatisfy { Swift.abs($0 - $1) <= 1e-6 * Swift.max(1, Swift.abs($1)) }, "rank \(rank) parameter \(i)")
      }
    }
  }

  /// A rank that never comes: joining fails at the timeout, naming the rank and the address.
  @Test func aMissingRankFailsTheRendezvousAtTheTimeout() throws {
    let port = try unusedLocalPort()
    let start = Date()
    #expect {
      _ = try ProcessGroup(rendezvous(0, 2, port: port, timeout: 2))
    } throws: { error in
      "\(error)".contains("rank 0 of 2: joining the process group at 127.0.0.1:\(port)")
    }
    #expect(Date().timeIntervalSince(start) < 20)
  }

  /// A rank that hangs (never enters the collective): the other's all-reduce fails within the
  /// timeout with an error that names the collective; a rank that has gone fails it at once.
  @Test func aHungOrDeadRankFailsTheCollectiveWithANamedError() throws {
    let port = try unusedLocalPort()
    let released = DispatchSemaphore(value: 0)
    let errors = try onRankThreads(2) { rank -> String? in
      let group = try ProcessGroup(rendezvous(rank, 2, port: port, timeout: 3))
      if rank == 1 {
        released.wait()  // hangs until rank 0 has given up
        return nil
      }
      defer { released.signal() }
      let start = Date()
      do {
        try group.allReduceSum(try Tensor([Float(1)]), "all-reduce of gradient bucket 0")
        return "no error"
      } catch {
        let elapsed = Date().timeIntervalSince(start)
        return elapsed < 30 ? "\(error)" : "took \(elapsed) s: \(error)"
      }
    }
    let message = try #require(errors[0])
    #expect(message.contains("rank 0 of 2: all-reduce of gradient bucket 0"), "\(message)")
  }
}
