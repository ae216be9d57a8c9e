# Wan Studio on an NVIDIA GPU. Build: docker build -t wan-studio .
# Run:   docker run --gpus all -p 7860:7860 -v wan-data:/data -v hf-cache:/cache/huggingface wan-studio
#
# Base image: torch==2.13.0's default Linux wheel on PyPI is the CUDA 13.0 build (its metadata requires
# cuda-toolkit==13.0.3 and nvidia-cudnn-cu13), and pip installs those CUDA and cuDNN libraries into the venv.
# So the image needs no CUDA libraries of its own: the small `base` flavour of CUDA 13.0 (Ubuntu 24.04) is
# enough. It brings NVIDIA's container settings, including NVIDIA_REQUIRE_CUDA, so on a host whose driver is
# too old for CUDA 13.0 (older than R580) the container refuses to start and says why, instead of torch
# quietly falling back to the CPU. The `runtime`/`cudnn-runtime` flavours would only add a second copy of
# libraries torch never loads (several GB).
FROM nvidia/cuda:13.0.2-base-ubuntu24.04

ARG DEBIAN_FRONTEND=noninteractive

# 1. Python: Ubuntu 24.04's python3 is 3.12 (the project needs 3.11+). The distro marks it externally
#    managed (PEP 668), so the dependencies go into a venv at /opt/venv, owned by root and read-only at runtime.
#    Distro packages are not version-pinned (DL3008): Ubuntu drops superseded versions from its archive, so
#    pins would break rebuilds; the base image tag and requirements.txt pin what matters.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# 2. The unprivileged user. Ubuntu 24.04 images ship a `ubuntu` user with uid 1000; it is replaced by
#    `studio` with the same uid so files in bind-mounted folders belong to the usual first host user.
RUN (userdel --remove ubuntu 2>/dev/null || true) \
    && groupadd --gid 1000 studio \
    && useradd --uid 1000 --gid 1000 --create-home --shell /usr/sbin/nologin studio \
    && mkdir -p /app /data /cache/huggingface \
    && chown studio:studio /data /cache/huggingface

WORKDIR /app

# 3. Dependencies before the code, so editing the app does not reinstall torch (the layer is several GB).
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# 4. The app: the entry point, the package (with its migrations) and the static assets (CSS, offline Swagger UI).
COPY app.py .
COPY studio/ studio/
COPY assets/ assets/

# The database, media and tiny models in /data; hub weights in /cache/huggingface. The app listens on all
# interfaces of the container (publish the port to choose who can reach it).
ENV STUDIO_DATA_DIR=/data \
    STUDIO_HOST=0.0.0.0 \
    HF_HOME=/cache/huggingface \
    GRADIO_ANALYTICS_ENABLED=False
# Declared after the chown above, so fresh named volumes start out owned by `studio`.
VOLUME ["/data", "/cache/huggingface"]

# Numeric (= studio:studio), so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 1000:1000
EXPOSE 7860

# /health answers 200 while the model loads (or downloads, in the background) and when it is ready, and 503
# when it failed to load; it needs no login even with --auth or --api-tokens. The start period covers the
# imports and migrations before the server listens.
HEALTHCHECK --interval=30s --timeout=10s --start-period=2m --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('STUDIO_PORT', '7860'), timeout=8)"]

CMD ["python", "app.py"]
