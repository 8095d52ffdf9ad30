"""Book tooling: the build script, its Sphinx extension and small notebook helpers.

Not part of ``lib``: nothing here runs an experiment.
"""
