# scim-server production image: README "Running in production".
# Build: docker build -t scim-server .   Run: docker compose up (compose.yaml)
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in README.md LICENSE CHANGELOG.md ./
COPY schemas ./schemas
COPY scim_server ./scim_server
COPY conformance ./conformance
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /dist /dist
RUN pip install /dist/*.whl \
    && rm -rf /dist \
    && useradd --system --uid 10001 --home-dir /var/lib/scim --create-home scim
USER scim
WORKDIR /var/lib/scim
EXPOSE 8000
# /healthz does no I/O: the container is healthy while its process serves requests.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["scim-server"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
