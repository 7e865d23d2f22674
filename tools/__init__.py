"""What Trunkline's developers run around the product, not the product itself: the benchmarks, the webhook load
generator and the Slack stand-in. Nothing under `delivery/` imports from here; see tools/README.md."""
