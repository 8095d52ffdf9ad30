"""Section 6: stochastic weight averaging (Izmailov et al. 2018) on ``torch.optim.swa_utils``.

plans     what a run does after its checkpoint: decay, constant SWALR or the cyclical rate (eq. 2)
training  pretrain, continue with averaging (AveragedModel, EMA, update_bn) on the core loop; compare
metrics   test and training loss and accuracy of every final network, over seeds
plane     the loss on the plane through three snapshots (the paper's figure 1)
slices    the loss along random filter-normalised directions through each solution
settings  the section's experiment sizes (quick / full)
figures   record -> figure
explorer  the cyclical rate's cycle and rates, live
"""
