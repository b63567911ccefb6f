# Head pose and face smoothing: the face template, reports and figures (docs/ml.md).

.PHONY: face-template head-pose-report head-pose-figures smoothing-report

face-template: models ## Regenerate ml_service/perception/face_template.json from our face model's 3D output
	$(PY) scripts/ml/make_face_template.py

head-pose-report: models ## Head pose on photos and variants, method variants, synthetic grid (docs/ml.md)
	$(PY) scripts/ml/head_pose_report.py

head-pose-figures: models ## docs/images/head-pose-*.png (template weights, before/after, synthetic eyewear)
	$(PY) scripts/ml/head_pose_figures.py

smoothing-report: models ## Jitter against lag of the tracker's One Euro smoothing over its parameters
	$(PY) scripts/ml/smoothing_report.py
