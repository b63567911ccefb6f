# Try-on rendering: benchmark (ml_service/render, docs/render.md).

.PHONY: bench-render render-goldens

bench-render: models ## Render p50/p95 per category at 640x480; live eyewear FPS on one core
	OMP_NUM_THREADS=1 $(PY) scripts/render/bench.py

render-goldens: models ## Regenerate the render goldens, docs/images and the eyewear/hat sheets (look at them first)
	$(PY) scripts/render/goldens.py
	$(PY) scripts/render/sheets.py

BENCHES += bench-render
