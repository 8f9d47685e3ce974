"""The paper's networks: EfficientNet encoder, mesh-deforming GCN generator, GCN discriminator, losses."""
