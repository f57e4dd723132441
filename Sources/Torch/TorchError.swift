import CTorch

/// An error raised by libtorch (shape mismatch, bad dtype, ...) or by this module's own checks.
/// `message` carries libtorch's text without its C++ backtrace.
public struct TorchError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }

  /// The message libtorch recorded for the failed call on this thread.
  static func last(_ context: String) -> TorchError {
    TorchError("\(context): \(String(cString: ct_last_error()))")
  }
}

/// Wraps a handle returned by the shim, or throws libtorch's error when it is NULL.
@inline(__always)
func wrap(_ handle: ct_tensor?, _ context: @autoclosure () -> String) throws -> Tensor {
  guard let handle else { throw TorchError.last(context()) }
  return Tensor(owning: handle)
}

/// Throws libtorch's error when a status-returning shim call failed.
@inline(__always)
func check(_ status: Int32, _ context: @autoclosure () -> String) throws {
  if status != 0 { throw TorchError.last(context()) }
}
