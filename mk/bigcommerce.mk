# BigCommerce (gateway/platforms/bigcommerce/): hook answer latency and sync throughput.

BENCHES += bench-bigcommerce

.PHONY: bench-bigcommerce
bench-bigcommerce: install ## BigCommerce: hook answer p50/p95 (loopback) and v3 sync products/s against the fake
	$(PY) scripts/platforms/bench_bigcommerce.py $(BENCH_BIGCOMMERCE_ARGS)
