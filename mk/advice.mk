# Advice that sells (docs/ml.md "Face shape and frame advice", docs/recommendations.md).

.PHONY: face-shape-report eval-recommendations

face-shape-report: models ## The face-shape classifier against the labels of the test photos
	$(PY) scripts/advice/face_shape_report.py

eval-recommendations: install ## Offline evaluation of recommendations (hit rate, NDCG) and widget-call latency
	$(PY) scripts/advice/eval_recommendations.py
