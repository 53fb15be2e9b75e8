"""Synthesize, plan and apply a region: the synth cache, the terraform wrapper, the state bucket, the deploy CLI."""
