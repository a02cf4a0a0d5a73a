"""The Go executable: ELF sections, build info, .gopclntab, moduledata, lazy DWARF."""
