"""Section 4: learning rate x batch size, the gradient noise scale and the critical batch size.

The textbook (its section 12.3.4) compares learning rates at batch sizes 32 and
16 and concludes that the best rate depends on the batch size; it states the
linear and the square-root scaling rules.  McCandlish et al. (2018) explain the
dependence through the gradient noise scale.  The modules, in reading order:

illustration     the textbook's rates, winners and numeric illustration, recomputed with the gradient
rate_grid        one batch size: a grid of rates x seeds (x warm-up) trained at once, and read
probes           the validation loss at early updates spaced by sqrt 2, measured while a grid trains
batch_sweep      every batch size: the grids together, best rates, the target every batch size reaches
scaling_rules    the linear and square-root rules, local slopes, which rule a slope is nearest to
scaling_fit      the best rate interpolated per seed, the fitted slope with a t interval, its verdict
gradient_noise   B_simple: batch and per-example gradients, the two estimators, the best step eps_opt(B);
                 ``noise_scale`` on any model and loader, with a jackknife error and a batch range
noise_tracker    B_simple measured along a training run by both estimators
synthetic        the ground truth: a linear regression's exact G and Sigma against both estimators
critical_batch   steps and examples to a target, McCandlish et al.'s S-E hyperbola and eps_opt fits
study            the section's experiment (the sweep with the tracker riding along) and its conclusions
settings         the experiment's sizes under the quick and the full budget
loss_per_step    the sub-page: one step's best loss decrease against B, Delta L_opt(B) and eps_opt(B) fitted with
                 bootstrap intervals, B_simple at the same weights
noise_scale_variants  the sub-page: B_simple on easier / harder tasks and on training sets of several sizes
noise_bridge     the sub-page: Smith and Le's g at McCandlish et al.'s best step, eps_max N / (B + B_noise)
settings_further the sub-page's sizes under the quick and the full budget
figures_further  the sub-page's figures
figures          the section's figures, drawn from the records above
explorer         ScalingExplorer: a batch size and a rate over the cached sweep
"""
