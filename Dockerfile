FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN SECRET_KEY=build python manage.py collectstatic --noinput -v0
RUN useradd --create-home schedkit && mkdir -p /app/var && chown -R schedkit /app/var
USER schedkit
EXPOSE 8000
CMD ["uvicorn", "schedkit.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--proxy-headers", "--no-access-log", "--ws-per-message-deflate", "false"]
