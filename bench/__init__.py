"""Throughput benchmarks for Sinergi's delivery over Redis Streams (see bench/README.md)."""
