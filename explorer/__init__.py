"""gocore-tui: post-mortem debugging of Go programs from Linux core dumps.

Layers (each imports only those below it): ``core`` → ``binary`` → ``goruntime`` → ``render`` →
``tui``; ``cli`` sits on top.
"""

__version__ = "0.1.0"
