/// The knob table as Markdown: docs/config-keys.md is this text (`rlinf-train --list-keys`
/// prints it; a test keeps the file in step).
extension TrainingConfig {
  public static var knobReference: String {
    var lines = [
      "# Config keys",
      "",
      "Every key a training config may set, generated from `TrainingConfig.knobs`",
      "(`Sources/Config/KnobTable.swift`) by `swift run rlinf-train --list-keys`. Keys follow RLinf-VLA's",
      "names; an unknown key is an error. Live keys can be changed while a job runs:",
      "`rlinfctl set KEY=VALUE`. Checks across keys (GRPO's group size, batch sizes against a",
      "window's samples, placements) are in `TrainingConfigValidation.swift`.",
    ]
    var section = ""
    for knob in knobs {
      let top = String(knob.key.split(separator: ".").first!)
      let heading = top == "env" ? knob.key.split(separator: ".").prefix(2).joined(separator: ".") : top
      if heading != section {
        section = heading
        lines += ["", "## `\(heading)`", "", "| key | default | live | value | what it does |", "|---|---|---|---|---|"]
      }
      let cells = ["`\(knob.key)`", knob.defaultNote ?? "`\(knob.defaultText)`", knob.live ? "yes" : "", knob.spelling, knob.doc]
      lines.append("| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |")
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
