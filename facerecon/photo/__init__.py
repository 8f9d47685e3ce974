"""Photos to meshes: ``facerecon reconstruct`` (Algorithm 1 end to end on ordinary images)."""
