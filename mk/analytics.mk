# Analytics: benchmark and the README's dashboard screenshot.

BENCHES += bench-analytics
.PHONY: bench-analytics dashboard-screenshot

ANALYTICS_BENCH_EVENTS ?= 20000

bench-analytics: install ## Analytics: events/s publisher -> RabbitMQ -> consumer -> PostgreSQL, batch latency
	$(PY) scripts/bench_analytics.py --events $(ANALYTICS_BENCH_EVENTS)

dashboard-screenshot: install ## Regenerate docs/images/dashboard.png (synthetic traffic, headless chromium)
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y --no-install-recommends chromium)
	$(PY) scripts/dashboard_screenshot.py --out docs/images/dashboard.png

BENCHES += bench-experiment
.PHONY: bench-experiment experiment-coverage
EXPERIMENT_BENCH_EVENTS ?= 10000000

bench-experiment: install ## Holdout report on a PostgreSQL warehouse of 10M generated events: p50/p95, reference
	$(PY) scripts/bench_experiment.py --events $(EXPERIMENT_BENCH_EVENTS)

experiment-coverage: install ## Holdout intervals on 100 seeded simulated experiments: coverage and power
	$(PY) scripts/experiment_coverage.py
