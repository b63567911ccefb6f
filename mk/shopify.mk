# Shopify (gateway/platforms/shopify/): catalog sync throughput against the fake Shopify.

BENCHES += bench-sync

.PHONY: bench-sync
bench-sync: install ## Shopify catalog sync: products/s against the fake, with and without throttling
	$(PY) scripts/platforms/bench_sync.py $(BENCH_SYNC_ARGS)
