"""Sub-commands of the ``hmp`` CLI, one module per feature."""
