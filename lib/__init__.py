"""The chapter's library: one small module per idea, in the order a reader meets them.

device      where to run, seeding
budget      the quick / full switch
data        MNIST: find, download, verify, parse, split, put on the device
models      the textbook's 784-64-16-10 network and its variants
train       mini-batch SGD on device-resident tensors, whole grids at once
"""
