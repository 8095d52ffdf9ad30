"""The chapter's library: one small module per idea, in the order a reader meets them.

device      where to run, seeding
budget      the quick / full switch
data        MNIST: find, download, verify, parse, split, put on the device
models      the textbook's 784-64-16-10 network and its variants
train       mini-batch SGD on device-resident tensors, whole grids at once

landscapes       section 1: toy loss surfaces, gradient-descent paths, the 2/lambda_max bound
plateaus         section 1: a 2-2-1 sigmoid network on XOR, a loss curve with a plateau
sparse_features  section 1: one learning rate for a common and a rare feature; AdaGrad
robbins_monro    section 1: partial sums of step-size sequences; section 3: a noisy quadratic
range_test       section 2: Smith's sweep, the textbook's segmented zoom, the parallel test
schedules        section 3: every schedule by name, built on torch.optim.lr_scheduler
scaling          section 4: learning-rate x batch-size grids, scaling rules, steps vs examples
noise_scale      section 4: the gradient noise scale B_simple and the critical batch size
sharpness        section 5: Hessian-vector products, top eigenvalue, trace, Keskar's sharpness
weight_space     section 5: interpolation and filter-normalised directions in weight space
swa              section 6: stochastic weight averaging on torch.optim.swa_utils

plots       the chapter's figure style, lr_color, recurring plots
widgets     the ipywidgets explorers (computation stays in the modules above)
glue        hands the run's numbers and figures to the prose (myst-nb glue)
checks      shared argument checks with messages that say what is allowed
"""
