"""The last page: the chapter's three tools on a model and data the chapter does not otherwise use.

digits     scikit-learn's bundled 8x8 digits as DataLoaders of dictionary batches, and the page's network
settings   the page's experiment sizes under the quick and the full budget
figures    record -> figure, for the page's figures

The tools themselves are the sections' own: :func:`lib.lr_finder.sweep.range_test`,
:func:`lib.lr_finder.parallel.parallel_test`, :func:`lib.batch_size.gradient_noise.noise_scale`
and :func:`lib.sharpness.hessian.sharpness`, on any model and any iterable of batches
(:mod:`lib.core.batches`).
"""
