"""Training the mesh models: configuration, batches, the Accelerate trainer, evaluation, the cached entry point."""
