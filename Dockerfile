# The API service image: `docker compose up` builds it from this repository.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY application ./application
COPY infrastructure ./infrastructure
COPY api ./api
RUN pip install --no-cache-dir . && useradd --system --home /app caseledger && mkdir -p /app/var && chown caseledger /app/var
USER caseledger
EXPOSE 8000
CMD ["caseledger", "serve", "--host", "0.0.0.0", "--port", "8000"]
