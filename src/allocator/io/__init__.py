"""Files: the run directory, Excel output, atomic writes."""
