.PHONY: build test fuzz bench

build:
	go build -o lian ./cmd/lian

test:
	go test ./...

# Run each fuzz target for a short while (go test -fuzz takes one target at a time).
fuzz:
	go test ./txs -run XXX -fuzz FuzzDecodeTx -fuzztime 30s
	go test ./txs -run XXX -fuzz FuzzDecodeBody -fuzztime 30s
	go test ./modules/identity -run XXX -fuzz FuzzDecodeRegisterAccount -fuzztime 30s
	go test ./modules/evidence -run XXX -fuzz FuzzDecodeAnchor -fuzztime 30s
	go test ./modules/evidence -run XXX -fuzz FuzzDecodeAnchorBatch -fuzztime 30s
	go test ./store -run XXX -fuzz FuzzVerifyProof -fuzztime 30s

bench:
	go run ./cmd/lian bench compare --duration 30s
