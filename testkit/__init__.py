"""What the tests and the scripts (benchmarks, reports, fixture builders) share: public test
photos, image variants, synthetic faces and clips, render goldens. Neither shipped (the wheel
and the images carry ``gateway``, ``ml_service`` and ``analytics`` only) nor a test: scripts
never import ``tests`` (``tests/test_layering.py``)."""
