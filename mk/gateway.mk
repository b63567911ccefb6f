# Gateway: load benchmark (gateway/, docs/api.md). wrk comes from Debian when missing.

.PHONY: bench-gateway profile-gateway wrk

wrk:
	@command -v wrk >/dev/null || { echo "==> installing wrk (Debian)"; \
		$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq && \
		$(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq wrk; }

bench-gateway: install models wrk ## Widget config / photo try-on (wrk) and live FPS, embedded and PostgreSQL+Redis
	$(PY) scripts/gateway/bench.py

BENCHES += bench-gateway

PROFILE_PART ?= config
PROFILE_MODE ?= embedded
profile-gateway: install models wrk ## py-spy flame graph of the gateway under load (PROFILE_PART=config|photo|live, PROFILE_MODE=embedded|scaleout)
	$(PY) scripts/gateway/profile.py --part $(PROFILE_PART) --mode $(PROFILE_MODE) \
		--out docs/images/profile-$(PROFILE_PART)-$(PROFILE_MODE).svg
