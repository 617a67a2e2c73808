"""kinko's verification benchmark (``make bench``): data loading, servers, load generator.

Never imported by kinko itself; see docs/performance.md for how to run it and a recorded run.
"""
