"""Go semantics over a core: goroutines, threads, the unwinder, values and expressions."""
