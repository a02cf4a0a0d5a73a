"""Bytes -> decoded trees: protobuf wire format (schemaless and typed), JSON, text, compressed
payloads.

Pure functions of bytes: this package knows nothing of cores or Go, and imports nothing of ours but
:mod:`explorer.errors` and :mod:`explorer.gcpause`. :mod:`explorer.render.payload` turns its trees
into text (``protoc``'s text format, a tree with interpretations) and the CLI and the TUI show them.
"""
