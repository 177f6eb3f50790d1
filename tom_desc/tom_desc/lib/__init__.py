"""Small helpers every app shares, in one home each; nothing here imports an app.

- ``stopping``: the SIGTERM/SIGINT stop flag of the worker loops;
- ``backoff``: doubling waits between retries of a service that went away;
- ``numbers``: int64 bounds, NaN/inf to None, 4-byte float rounding;
- ``groups``: the site's permission groups and membership checks.
"""
