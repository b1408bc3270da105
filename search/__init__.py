"""From a sampled configuration to a trained, scored model, and the studies that drive it."""
