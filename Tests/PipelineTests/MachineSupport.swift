import Staging

/// Tests that need two stages on cores of their own.
let twoCores = Machine.current().cpus.count >= 2
