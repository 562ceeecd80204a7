.PHONY: run test bench lint
run:  ## run SchedKit (embedded default unless DATABASE_URL/REDIS_URL are set)
	bin/run
test:  ## lint + embedded smoke run + full suite on PostgreSQL and Redis
	bin/test
bench:  ## the benchmarks (production topology, real load generator)
	bench/run
lint:
	bin/setup && .venv/bin/ruff check . && .venv/bin/ruff format --check .
