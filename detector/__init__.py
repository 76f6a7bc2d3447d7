"""pinewatch's smoke/fire detector: ONNX runtime core, reusable on its own.

Depends on numpy, opencv and onnxruntime only (never on the pinewatch package). Modules:
types (Detection), session (onnxruntime sessions), preprocess, postprocess, detector
(Detector, BatchingService), filters, temporal (TemporalVote), pipeline (FrameJudge),
bench; training/ (export, quantize) is the only place for ultralytics/torch/onnx.
"""
