"""Guards around a rollout: confinement of writes, no emission, kernel containment."""
