import Dispatch
import Foundation
import Models
import RL
import Torch

/// Supervised fine-tuning of a policy on a demonstration file: shuffled minibatches, AdamW,
/// gradient clipping, a progress line every `logEvery` steps.
public struct SFTRun {
  public var steps = 1000
  public var batchSize = 32
  public var learningRate = 1e-3
  public var weightDecay = 0.01
  public var maxGradNorm = 1.0
  public var seed: UInt64 = 0
  public var logEvery = 50
  /// Cosine decay of the learning rate to zero over the run (after 5% linear warm-up), instead
  /// of a constant rate: the last steps then refine the actions' fine bins.
  public var cosineSchedule = false
  /// Asked before every step; true ends the run early by throwing `Stopped` (a daemon told to
  /// stop during a warm start).
  public var shouldStop: () -> Bool = { false }

  public init() {}

  /// The run ended early because `shouldStop` said so.
  public struct Stopped: Error, CustomStringConvertible {
    public let step: Int
    public var description: String { "supervised fine-tuning stopped before step \(step)" }
  }

  /// Per logged step: (step, mean loss since the last line).
  public struct Progress: Sendable {
    public let step: Int
    public let loss: Double
    public let samplesPerSecond: Double
    public let secondsLeft: Double
  }

  /// Trains `policy` on `data`; each step's batch is split over `work`'s workers.
  public func train(policy: VLAPolicy, data: DemoData, work: ParallelWork = SerialWork(), log: (Progress) -> Void) throws -> [Progress] {
    let optimizer = try AdamW(groups: [.init(name: "policy", parameters: policy.namedParameters(), lr: learningRate, weightDecay: weightDecay)])
    guard data.count > 0 else { throw ModelError.input("no demonstration steps to train on") }
    let generator = try Generator(seed: seed)  // batches depend only on the seed
    var order: [Int] = []
    var history: [Progress] = []
    var lossSum = 0.0, lossCount = 0
    let start = DispatchTime.now().uptimeNanoseconds
    let warmup = max(1, steps / 20)
    for step in 1...steps {
      if shouldStop() { throw Stopped(step: step) }
      if cosineSchedule {
        let progress = Double(step - warmup) / Double(max(steps - warmup, 1))
        optimizer.groups[0].lr = step <= warmup
          ? learningRate * Double(step) / Double(warmup)
          : learningRate * 0.5 * (1 + cos(.pi * progress))
      }
      while order.count < batchSize { order += try generator.permutation(data.count) }  // data may be smaller than a batch
      let rows = Array(order.prefix(batchSize))
      order.removeFirst(batchSize)
      let batch = try data.batch(rows: rows, chunk: policy.config.numActionChunks, tokenizer: policy.actionTokenizer)
      let metrics = try SupervisedFineTuning.step(
        policy: policy, optimizer: optimizer, images: batch.images, instructions: batch.instructions,
        state: policy.config.proprioDim > 0 ? batch.state : nil, targetTokens: batch.tokens, maxGradNorm: maxGradNorm, work: work)
      lossSum += metrics.loss
      lossCount += 1
      if step % logEvery == 0 || step == steps {
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let progress = Progress(
          step: step, loss: lossSum / Double(lossCount), samplesPerSecond: Double(step * batchSize) / elapsed,
          secondsLeft: elapsed / Double(step) * Double(steps - step))
        history.append(progress)
        log(progress)
        (lossSum, lossCount) = (0, 0)
      }
    }
    return history
  }
}

