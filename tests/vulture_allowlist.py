"""Names vulture cannot see used: attributes and methods that libraries read or call."""

# ruff: noqa
_ = None
# Keras callbacks and ONNX Runtime's calibration reader protocol
_.on_epoch_begin, _.on_epoch_end, _.get_next, _.rewind
# the restricted unpickler's hook
_.find_class
# options objects the libraries read after we set them
_.intra_op_num_threads, _.inter_op_num_threads, _.execution_mode, _.graph_optimization_level
_.log_severity_level, _.optimizations, _.supported_types, _.representative_dataset
_.supported_ops, _.inference_input_type, _.inference_output_type, _.enabled
# TensorRT's builder config and engine inspector settings; onnx's reference evaluator reads an
# op class's domain
_.profiling_verbosity, _.execution_context, _.op_domain
