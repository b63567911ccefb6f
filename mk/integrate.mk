# Integration checks of the whole product: the demo driven without a browser, and the
# README's demo screenshot (the browser tests' photo try-on).

.PHONY: demo-smoke demo-screenshot

demo-smoke: install ## Drive a running `make demo` (photo try-on, events, live WebSocket); non-zero on failure
	$(PY) scripts/demo_smoke.py

demo-screenshot: install sdk chromium $(SDK_ML_DEPS) ## Regenerate docs/images/demo-tryon.png (astronaut photo, round glasses)
	cd $(SDK_DIR) && ./node_modules/.bin/vitest run --config vitest.e2e.config.ts e2e/tryon.e2e.ts -t "renders glasses on a photo"
	cp test-artifacts/sdk-e2e/photo-result.png docs/images/demo-tryon.png
