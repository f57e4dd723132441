import Dispatch
import Pipeline
import Staging

/// The ring alone, between two threads pinned to different cores.
enum RingBench {
  /// Small items (Int) streamed producer -> consumer: items per second.
  static func throughput(producer: StageThread, consumer: StageThread, items: Int) throws -> Double {
    let ring = SPSCRing<Int>(capacity: 1024)
    let start = DispatchTime.now().uptimeNanoseconds
    producer.start { for i in 0..<items { try ring.push(i) } }
    consumer.start {
      var expected = 0
      for _ in 0..<items {
        let x = try ring.pop()
        guard x == expected else { throw PipelineError("ring delivered \(x), expected \(expected)") }
        expected += 1
      }
    }
    try producer.finish()
    try consumer.finish()
    return Double(items) / seconds(since: start)
  }

  /// Batch-slot hand-off latency: a slot index ping-pongs between two threads through two rings
  /// (what the pipeline's stages do); one hand-off is half a round trip. Nanoseconds.
  static func handoffLatency(a: StageThread, b: StageThread, roundTrips: Int) throws -> Double {
    let there = SPSCRing<Int>(capacity: 4), back = SPSCRing<Int>(capacity: 4)
    let start = DispatchTime.now().uptimeNanoseconds
    a.start {
      for slot in 0..<roundTrips {
        try there.push(slot & 3)
        _ = try back.pop()
      }
    }
    b.start { for _ in 0..<roundTrips { try back.push(there.pop()) } }
    try a.finish()
    try b.finish()
    return seconds(since: start) * 1e9 / Double(2 * roundTrips)
  }
}

func seconds(since start: UInt64) -> Double {
  Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}
