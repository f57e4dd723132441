# The two entry points of the README. Each does its own set-up (tools/setup is a fast no-op when
# everything is installed).
SHELL := /bin/bash
# libtorch parallelises around BLAS calls itself: keep OpenBLAS's own pool single-threaded.
export OPENBLAS_NUM_THREADS := 1

.PHONY: run test bench-tensor

# Sets up, builds in release mode and runs the main job in the daemon, in the foreground: SFT
# warm start of the tiny OFT policy, then PPO on the hybrid pipeline (configs/main.yaml); then
# compares the SFT base with the policy the job hands over on every split (runs/main/comparison.md).
# Interrupting it (Ctrl-C) finishes the iteration and writes a checkpoint; running it again
# resumes from there.
run:
	tools/setup --no-venv
	swift build -c release --product rlinf-sentencepiece
	swift build -c release --product rlinfctl
	swift build -c release --product rlinfd
	swift build -c release --product rlinf-sft
	@echo "rlinfd: training configs/main.yaml into runs/main (metrics.jsonl, tensorboard/, checkpoints/)."
	@echo "  watch it from another terminal:  .build/release/rlinfctl status"
	@echo "                                   .build/release/rlinfctl metrics --follow"
	@echo "                                   tensorboard --logdir runs/main/tensorboard"
	.build/release/rlinfd --config configs/main.yaml --socket runs/rlinfd.sock --exit-when-done
	.build/release/rlinf-sft compare configs/main.yaml

# Sets up (Debian packages, the test venv, the ManiSkill3 and LIBERO worker venvs), builds and
# runs every test, then builds and tests again against a second libtorch (the CPU PyTorch
# wheel) when one is available.
test:
	tools/setup
	tools/setup-sims
	swift build --build-tests
	swift build --product rlinf-sentencepiece
	swift test --skip-build
	tools/test-libtorch-override

bench-tensor:
	tools/bench-tensor
