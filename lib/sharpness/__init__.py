"""Section 5: sharp and flat minima, the noise scale of SGD, growing the batch.

hessian            the loss as a function of the weights; Hessian-vector products, the top
                   eigenvalue (power iteration) and the trace (Hutchinson), on that one primitive;
                   ``sharpness`` on any model and loader, over several batches
keskar             Keskar et al.'s epsilon-sharpness (full space and random subspace), and the
                   report of all three measures for one network
weight_space       lines through weight space: interpolation, filter-normalised directions,
                   losses along a line, weight distance
generalization_gap Keskar et al.'s experiment: small against large batch, per-seed solutions,
                   their sharpness and accuracy; the bank of solutions by batch size
sgd_noise          Smith & Le's noise scale g, epochs for enough updates, the best batch size;
                   the equal-noise pairs and the best batch size against eps * N
                   (read at equal epochs and at equal updates)
online             the textbook's batch size 1 and its rate (against the linear rule), and whether larger
                   rates generalise better, compared at equal training loss
seed_intervals     one number per seed, its Student-t interval (ddof=1), and the verdicts read from it
batch_growth       Smith et al.'s milestone schedules (decay, grow, hybrid) and their comparison
settings           the section's experiment sizes under the quick and the full budget
figures            record -> figure, for every figure of the section
explorer           pick two batch sizes: the parametric plot between their solutions
"""
