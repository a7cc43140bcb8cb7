# The churn decision app for teams that host it themselves (see README, "Deploy").
#   docker build -t churn-app .
#   docker run --rm -p 8501:8501 churn-app        # then open http://localhost:8501
# The image holds the app, the library, the sample data and the sample model: it needs no
# network at run time and asks no other host for anything.
FROM python:3.12-slim

# LightGBM's wheels need the OpenMP runtime, which the slim image does not have.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# Compiled once here: the non-root user cannot write __pycache__ into /app, and compiling
# the app's modules at every cold start would cost time.
RUN python -m compileall -q app.py serve.py app_pages churn \
    && groupadd --gid 10001 app \
    && useradd --create-home --uid 10001 --gid 10001 app

# Not root: a numeric id, so the runtime can tell without reading the image's passwd file.
USER 10001:10001
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]
# serve.py: app.py, with the library imported while the server starts (see serve.py)
CMD ["streamlit", "run", "serve.py", "--server.port=8501", "--server.address=0.0.0.0"]
