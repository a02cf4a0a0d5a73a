"""Rich renderables and text formatting of the model (no textual)."""
