.PHONY: build test fuzz bench

build:
	go build -o lian ./cmd/lian

test:
	go test ./...

# Run every fuzz target of every package for FUZZTIME each (go test -fuzz takes one
# target at a time): make fuzz FUZZTIME=2m
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$(go list ./...); do \
		for t in $$(go test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$t"; \
			go test $$pkg -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) || exit 1; \
		done; \
	done

bench:
	go run ./cmd/lian bench compare --duration 30s
