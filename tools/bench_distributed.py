"""The PyTorch half of tools/bench-distributed: one rank (torch.distributed, Gloo, env://
rendezvous from tools/launch-ranks' variables) all-reducing float32 buckets of the given
sizes in sequence and dividing by the world size, as DDP averages gradients; rank 0 prints one
`allreduce:` line in the Swift half's format.

    python tools/bench_distributed.py SIZES ROUNDS    (SIZES: comma-separated element counts)
"""
import sys
import time

import torch
import torch.distributed as dist


def main() -> None:
    sizes = [int(s) for s in sys.argv[1].split(",")]
    rounds = int(sys.argv[2])
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="env://")
    world = dist.get_world_size()
    buckets = [torch.randn(n) for n in sizes]

    def average() -> None:
        for b in buckets:
            dist.all_reduce(b)
            b.div_(world)

    average()  # warm-up
    dist.barrier()
    start = time.perf_counter()
    for _ in range(rounds):
        average()
    seconds = (time.perf_counter() - start) / rounds
    if dist.get_rank() == 0:
        total = sum(sizes) * 4
        print(f"allreduce: {world} ranks, {total / 1e6:.2f} MB in {len(sizes)} buckets, "
              f"{seconds * 1e3:.3f} ms per round, {total / seconds / 1e6:.1f} MB/s")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
