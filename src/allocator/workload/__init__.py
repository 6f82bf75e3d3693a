"""The workload engine and its pure, summable array kernel."""
