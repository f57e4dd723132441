# The two entry points of the README. Each does its own set-up (tools/setup is a fast no-op when
# everything is installed).
SHELL := /bin/bash
# libtorch parallelises around BLAS calls itself: keep OpenBLAS's own pool single-threaded.
export OPENBLAS_NUM_THREADS := 1

.PHONY: run test bench-tensor

# Sets up, builds in release mode and runs the main job (for now: the tensor-layer smoke demo).
run:
	tools/setup --no-venv
	swift build -c release --product rlinf-demo
	.build/release/rlinf-demo

# Sets up (Debian packages + the test venv), builds and runs every test, then builds and tests
# again against a second libtorch (the CPU PyTorch wheel) when one is available.
test:
	tools/setup
	swift build --build-tests
	swift build --product rlinf-sentencepiece
	swift test --skip-build
	tools/test-libtorch-override

bench-tensor:
	tools/bench-tensor
