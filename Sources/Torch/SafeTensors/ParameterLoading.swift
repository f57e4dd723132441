import SafeTensors

extension Module {
  /// Loads parameters straight from safetensors files (one or the shards of a checkpoint),
  /// copying each tensor into its parameter and then dropping the file pages it came from, so
  /// peak memory stays near one copy of the weights. Every parameter must be present once, every
  /// stored tensor must be a parameter, shapes must match; the error names the tensor.
  public func loadParameters(from files: [SafeTensorsFile], prefix: String = "") throws {
    var owner: [String: SafeTensorsFile] = [:]
    for file in files {
      for name in file.names {
        guard owner[name] == nil else { throw TorchError("tensor \(name) appears in more than one file") }
        owner[name] = file
      }
    }
    let named = namedParameters()
    let expected = Set(named.map { prefix + $0.name })
    let missing = named.map { prefix + $0.name }.filter { owner[$0] == nil }
    if !missing.isEmpty { throw TorchError("checkpoint lacks \(missing.count) parameter(s): \(missing.prefix(8).joined(separator: ", "))") }
    let unexpected = owner.keys.filter { !expected.contains($0) }.sorted()
    if !unexpected.isEmpty { throw TorchError("checkpoint has \(unexpected.count) unexpected tensor(s): \(unexpected.prefix(8).joined(separator: ", "))") }
    try Autograd.withNoGrad {
      for (name, parameter) in named {
        let file = owner[prefix + name]!
        let stored = try file.tensor(prefix + name)
        guard stored.shape == parameter.shape else {
          throw TorchError("parameter \(prefix + name): checkpoint shape \(stored.shape), model shape \(parameter.shape)")
        }
        try parameter.copyFrom(stored)
        file.archive.releasePages(prefix + name)
      }
    }
  }
}
