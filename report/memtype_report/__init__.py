"""memtype's command-line tools and report readers (Python standard library only)."""
