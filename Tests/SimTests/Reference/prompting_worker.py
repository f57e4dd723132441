"""A worker that does what some benchmark installs do on first use: ask before downloading.
With stdin closed it can never get an answer; the bridge must notice and stop it."""
print("The assets for this task are missing. Download them now? (y|n)", flush=True)
input()
