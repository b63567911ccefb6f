# Try-on rendering: benchmark (ml_service/render, docs/render.md).

.PHONY: bench-render render-goldens

bench-render: models ## Render p50/p95 per category at 640x480; live FPS on one core (REF=rev: that revision's renderer first, same run)
	@if [ -n "$(REF)" ]; then \
	  ref=$$(mktemp -d) && git archive "$(REF)" ml_service | tar -x -C "$$ref" && \
	  echo "== $(REF)" && PYTHONPATH="$$ref" OMP_NUM_THREADS=1 $(PY) scripts/render/bench.py; \
	  status=$$?; rm -rf "$$ref"; [ $$status -eq 0 ] || exit $$status; echo "== this tree"; fi
	OMP_NUM_THREADS=1 $(PY) scripts/render/bench.py

render-goldens: models ## Regenerate the render goldens, docs/images and every category's sheets (look at them first)
	$(PY) scripts/render/goldens.py
	$(PY) scripts/render/sheets_face.py
	$(PY) scripts/render/sheets_body.py

BENCHES += bench-render

.PHONY: hair-iou old-garment
hair-iou: models ## The hair mask's IoU against the hand-labelled crops
	$(PY) scripts/render/hair_iou.py

old-garment: models ## "Old garment visible" per photo and top, main's renderer and this one
	$(PY) scripts/render/old_garment.py --ref $(or $(REF),main)

.PHONY: render-sheets
render-sheets: models ## Before/after sheets of every product (docs/images; unlicensed photos to build/ and var/)
	$(PY) scripts/render/sheets_face.py
	$(PY) scripts/render/sheets_body.py
