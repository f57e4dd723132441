"""Reads TensorBoard event files with the tensorboard package (independent of the writer) and
prints {tag: [[step, value], ...]} as JSON, after checking every record's CRC framing."""
import json
import sys

from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

scalars = {}
versions = []
for path in sys.argv[1:]:
    # The loader verifies the length and data CRCs of each record and raises on a mismatch.
    for event in EventFileLoader(path).Load():
        if event.HasField("file_version"):
            versions.append(event.file_version)
        for value in event.summary.value:
            # Newer loaders turn simple_value into a tensor; read either form.
            if value.HasField("simple_value"):
                number = value.simple_value
            else:
                number = value.tensor.float_val[0]
            scalars.setdefault(value.tag, []).append([event.step, number])
print(json.dumps({"versions": versions, "scalars": scalars}))
