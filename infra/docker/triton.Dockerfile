# Triton with the project's model repository baked in (built by `tryon models build`, which
# writes config.pbtxt files for the GPU variant: TensorRT FP16 accelerator, dynamic batching).
# Build context: the model repository folder printed by `tryon models build`.
ARG TRITON_VERSION=25.10
FROM nvcr.io/nvidia/tritonserver:${TRITON_VERSION}-py3
COPY . /models
USER triton-server
ENTRYPOINT ["tritonserver", "--model-repository=/models", "--strict-readiness=true", \
            "--exit-on-error=true", "--model-control-mode=none"]
