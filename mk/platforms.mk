# Store connections core (gateway/platforms/): webhook intake benchmark (wrk on loopback).
WEBHOOK_BENCH_DURATION ?= 10
.PHONY: bench-webhooks
bench-webhooks: install wrk ## Webhook answer p50/p95/p99, throughput and RSS (wrk, SQLite and PostgreSQL)
	$(PY) scripts/platforms/bench_webhooks.py --duration $(WEBHOOK_BENCH_DURATION)
	$(PY) scripts/platforms/bench_webhooks.py --duration $(WEBHOOK_BENCH_DURATION) --postgres

BENCHES += bench-webhooks
