"""The force and its formulation: pydantic models, force files, the allocation problem."""
