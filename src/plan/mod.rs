//! Planning: stages, ARG/ENV scoping, build args, the step graph and `--target` pruning.
