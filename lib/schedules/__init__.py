"""Section 3: learning-rate schedules, every policy by name on ``torch.optim.lr_scheduler``.

policies       the policy registry: ``schedule(name, **parameters)`` -> a scheduler partial for
               ``Member(schedule=...)``, ``rates`` (the curve that trains), defaults, caption text
conditions     the Robbins-Monro conditions of each policy, and SGD on a noisy quadratic under
               several schedules (simulated and exact)
comparison     fixed rates and schedules trained on MNIST over seeds: curves by configuration and
               seed, final test accuracy; one quick run for the explorer
settings       the section's experiment sizes under the quick and the full budget
figures        records -> figures (one colour and line style per policy)
explorer       the schedule explorer: draw any policy, train with it
"""
