"""Section 2: the learning-rate range test, three ways, and the rules that read a rate off it.

In reading order:

problems   toy problems with known answers: the textbook's sine regression, a quadratic
           whose stability limit 2 / lambda is known in closed form
sweep      Smith's sweep on any model, loader, loss and optimiser, with exact restore
           (``range_test``), and on the chapter's MNIST splits (``lr_range_test``, a thin caller)
rules      the suggestion rules (steepest, minimum / 10, valley, turn) in one registry, and the
           despiking a curve may get before they read it
zoom       the textbook's segmented design (Table 12-3) and its multi-round zoom
parallel   the parallel test (one copy per fixed rate; ``parallel_test`` on any model) and
           checking suggestions by training
settings   the section's experiment sizes under the quick and the full budget
figures    record -> figure, for every figure of the page
explorer   the range-test explorer (controls -> a quick sweep -> its figure)
"""
