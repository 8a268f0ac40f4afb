"""The application on top of the stages: the command line, the whole-pipeline run, the Airflow task
bodies, the enrichment partitions and the demo market.

The rest of `groundswell` is the kernel every stage imports (the `Mention` schema, configuration,
records, the store interface); it imports no stage. This package imports every stage, and no stage
imports it.
"""
