"""The floor every component stands on: the one config model, the versioned messages, file-name conventions.

`detector/` imports nothing of ours; `streams/` and `alerting/` may import this
package; the application (CLI, demo, scan, eval) sits on top and nothing here
imports it.
"""
