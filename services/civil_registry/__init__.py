"""Civil registry (Dukcapil) stand-in for development, tests, the demo and benchmarks."""
