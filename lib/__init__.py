"""The chapter's library, in the order a reader meets its ideas.

core/        used by every section, each idea once (see lib/core/__init__.py):
             device, budget, checks, data (MNIST), models, order (the one data order),
             losses (the registry), members, stacked (the fast path), evaluate, batches (any
             iterable of batches and any loss, for a reader's own model),
             engine (train_grid), loop (one network over torch.optim, exact restore),
             stats, params

step_size/   section 1: why the learning rate is hard (toy surfaces, gradient-descent
             paths and the 2/lambda_max bound, plateaus, sparse features, Robbins-Monro)
lr_finder/   section 2: the learning-rate range test (Smith's sweep, the suggestion
             rules, the textbook's multi-round zoom, the parallel test)
schedules/   section 3: every schedule by name on torch.optim.lr_scheduler
batch_size/  section 4: learning rate x batch size, scaling rules, the gradient noise
             scale and the critical batch size
sharpness/   section 5: sharp and flat minima, the SGD noise scale, growing the batch
swa/         section 6: stochastic weight averaging on torch.optim.swa_utils
parallel/    section 7: throughput against batch size, time to target, data-parallel
             SGD with torch.distributed (torchrun, DistributedDataParallel)
your_model/  the last page: the range test, the noise scale and sharpness on a reader's own model
             and DataLoader (scikit-learn's 8x8 digits), with lib.core.batches

Inside a section package: the methods and experiments (records of plain arrays),
``settings.py`` (its experiment sizes under the quick and the full budget),
``figures.py`` (record -> figure), ``explorer.py`` (controls -> one compute call
-> one figure) and ``static.py`` (the build's results -> a static explorer for the HTML page).

style        the chapter's figure style: one colour per learning rate, batch colours, axes
explorer     the shared explorer base
static_explorer  explorers that work in the static HTML page (Bokeh, no kernel): records of views over controls
glue         hands the run's numbers and figures to the prose (myst-nb glue)
"""
