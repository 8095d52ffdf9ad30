"""Batch size and parallel hardware: throughput, time to target, data-parallel SGD with torch.distributed.

The modules, in reading order:

throughput       examples per second and seconds per update against the batch size on this device
time_to_target   section 4's updates to a target times seconds per update: the curve practitioners minimise
data_parallel    the worker script torchrun starts (DistributedDataParallel, gloo on CPU, NCCL on CUDA)
launch           runs it as a subprocess: free port, threads per process, timeout, errors, no leftovers
experiments      equivalence, what breaks it, cost, the noise scale for free, linear scaling with warm-up
settings         the experiments' sizes under the quick and the full budget
figures          the section's figures, drawn from the records above
"""
