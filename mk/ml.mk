# ML perception: model build, fidelity fixture, benchmark (ml_service/, docs/ml.md).

.PHONY: models models-rebuild ml-fixture ml-fidelity ml-glasses bench-ml bench-ml-compare

models: install ## Build the perception models into $(TRYON_CACHE_DIR)/models (cached by content)
	$(TRYON) models build

models-rebuild: install ## Rebuild the perception models even when cached
	$(TRYON) models build --force

ml-fixture: models ## Regenerate the MediaPipe 0.10.21 fixtures (tests/ml_service/fixtures/mediapipe_*.json)
	$(PY) scripts/ml/make_fidelity_fixture.py

ml-fidelity: models ## Print our fidelity to MediaPipe per test image and variant, both face detectors (docs/ml.md)
	$(PY) scripts/ml/fidelity_report.py

ml-glasses: models ## How often the own-glasses detector is right on the labelled test faces (docs/ml.md)
	$(PY) scripts/ml/glasses_report.py

bench-ml: models ## Perception benchmark against MediaPipe 0.10.21 (per stage, photo and tracking)
	$(PY) scripts/ml/bench.py

bench-ml-compare: models ## Before/after against another revision and MediaPipe: make bench-ml-compare REV=main
	$(PY) scripts/ml/compare_revisions.py $(or $(REV),main)

TEST_DEPS += models
DEMO_DEPS += models
BENCHES += bench-ml
