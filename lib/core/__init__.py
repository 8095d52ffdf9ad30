"""The core every section stands on: each idea once, in the order data flows.

device    where to run (CPU, CUDA, MPS) and seeded generators
budget    the quick / full switch that sizes every experiment
checks    one check per kind of argument, with messages that say what is allowed
data      MNIST from the original files: verify, parse, scale, split (``Splits``)
models    the textbook's 784-64-16-10 network, its ReLU twin, a small CNN
order     the one data order (a seeded permutation per epoch) and ``steps_per_epoch``
losses    the loss registry: per member (stacked), mean, per example
members   a run of a grid (``Member``), grids, and the rate of every update
stacked   K networks as one computation; the hand-derived fast path of the perceptron
evaluate  loss and accuracy of one network or of K stacked members
engine    ``train_grid``: mini-batch SGD for a whole grid at once, and its ``History``
loop      one network over ``torch.optim`` (range test, SWA), with the exact restore
stats     moving averages, zero-lag smoothing, seed summaries, diverged runs
params    weights as dicts, flat vectors and stacks
batches   any iterable of batches (a DataLoader; tuple, list or dict batches) and any loss or
          objective, for the tools used on a reader's own model
timing    seconds spent training, evaluating, measuring and drawing (the build prints them)
"""
